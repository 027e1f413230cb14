// Pairwise reranking throughput of the in-process judge: one query panorama against K
// candidate tiles in all K(K-1) ordered pairs, for several queries, on the random-weight
// `--shape bench` fixture (its answers mean nothing; only speed and agreement are measured).
//
// Rows: (a) every comparison from scratch, (b) encode-once image cache, (c) encode-once +
// prefix tree + batched continuations, (d) Debian's llama-server from the runtime prefix
// given one HTTP request per comparison through the remote backend (its prompt cache on),
// once with 1 slot and once with 4 parallel slots (4 requests in flight); c_over_d uses the
// faster of the two.
//
// Efficiency: each in-process row's time against a bound measured in the same run: its decoded
// tokens at llama-bench's prompt-processing rate (pp512, same threads, micro-batch and flash
// attention, same CPU kernels) plus its image encodes at the per-image encode time the row
// measured. efficiency = bound / actual (1: nothing but the kernels' own time). pp512 runs from
// an empty cache; efficiency_at_depth uses llama-bench's rate after the shape's mean KV depth
// (-d), the attention span the row's tokens actually have.
//
// --types f16,q8_0,q4_k adds row (c) for each further weight type of the fixture (written with
// ggml's quantization), its own llama-bench rate and efficiency: F16 and quantized side by side.
//
// --arch llava|qwen2vl|gemma3 picks the fixture's family (the same raw prompt for all: only the
// image tokens and the model's layers differ).
//
// Usage: bench_pairwise_throughput [--queries N] [--k K] [--shape bench|tiny|llava7b] [--threads T]
//                                  [--arch llava|qwen2vl|gemma3]
//                                  [--modes abcd] [--types native[,q8_0,q4_k]] [--model-dir DIR]
//                                  [--flash-attn -1|0|1] [--gpu-layers N] [--json] [--check]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <string>
#include <thread>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "georank/runtime/runtime.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/llama_server.hpp"

namespace {

using namespace georank;

struct Options {
  int queries = 3;
  int k = 5;
  std::string shape = "bench";
  std::string arch = "llava";
  int threads = 0;
  std::string modes = "abcd";
  std::string model_dir;
  std::vector<std::string> types = {"native"};
  int flash_attn = -1;
  int gpu_layers = 0;
  bool json = false;
  bool check = false;  // exit 1 unless every in-process row has a finite, positive efficiency
};

struct Row {
  std::string name;
  std::string type;  // the fixture's weight type
  int images_encoded = 0;
  double prompt_rate = 0;           // llama-bench pp512 tokens/s of this row's model (0: not measured)
  double prompt_rate_at_depth = 0;  // the same, after the shape's mean KV depth
  double seconds = 0;
  int comparisons = 0;
  long decoded_tokens = 0;
  double encode_ms = 0;
  std::vector<std::vector<double>> probs;     // per comparison: P(A), P(B)
  std::vector<std::vector<double>> logprobs;  // per comparison: raw log P(A), log P(B)
};

std::shared_ptr<const Image> noise(int w, int h, std::uint32_t seed) {
  auto img = std::make_shared<Image>();
  img->width = w;
  img->height = h;
  img->rgb.resize(static_cast<std::size_t>(w) * h * 3);
  std::uint32_t x = seed * 2654435761u + 7u;
  for (auto& v : img->rgb) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::uint8_t>(x >> 24);
  }
  img->finalize();
  return img;
}

// Raw prompt in the fixture's vicuna chat format; `cut_after` > 0 cuts it right after that
// many markers (used to count the token segments of the lower bound).
std::string pair_prompt(int cut_after = 0) {
  const std::string m = kMediaMarker;
  const std::string parts[] = {
      "USER: Ground-level panorama: " + m, "\nAerial tile A: " + m, "\nAerial tile B: " + m,
      "\nWhich aerial tile shows where the panorama was taken? Answer A or B.\nASSISTANT:"};
  std::string out;
  for (int i = 0; i < (cut_after > 0 ? cut_after : 4); ++i) out += parts[i];
  return out;
}

struct Query {
  std::shared_ptr<const Image> panorama;
  std::vector<std::shared_ptr<const Image>> tiles;
  std::vector<VlmRequest> pairs;  // all ordered pairs (i, j), i != j
};

std::vector<Query> make_queries(const Options& o) {
  std::vector<Query> qs(static_cast<std::size_t>(o.queries));
  for (int q = 0; q < o.queries; ++q) {
    Query& query = qs[static_cast<std::size_t>(q)];
    query.panorama = noise(1024, 512, static_cast<std::uint32_t>(1000 + q));
    for (int c = 0; c < o.k; ++c)
      query.tiles.push_back(noise(256, 256, static_cast<std::uint32_t>(100 * q + c)));
    for (int i = 0; i < o.k; ++i)
      for (int j = 0; j < o.k; ++j) {
        if (i == j) continue;
        VlmRequest r;
        r.images = {query.panorama, query.tiles[static_cast<std::size_t>(i)],
                    query.tiles[static_cast<std::size_t>(j)]};
        r.raw_prompt = pair_prompt();
        r.choices = {"A", "B"};
        query.pairs.push_back(std::move(r));
      }
  }
  return qs;
}

Row measure(const std::string& name, VlmBackend& backend, const std::vector<Query>& queries) {
  Row row;
  row.name = name;
  for (const Query& q : queries) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = backend.run(q.pairs);  // a query's comparisons are submitted together
    row.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& r : out) {
      row.decoded_tokens += r.n_decoded_tokens;
      row.encode_ms += r.timings.encode_ms;
      row.probs.push_back(r.probs);
      row.logprobs.push_back(r.logprobs);
    }
    row.comparisons += static_cast<int>(out.size());
  }
  return row;
}

// Decoded tokens one query needs at best: the shared prefix through the query image once,
// each candidate as first image once, each ordered pair's remainder once. The segment sizes
// come from tokenise-only requests on prompts cut after each image.
struct LowerBound {
  double tokens = 0;
  /// Mean KV depth (position) of those tokens: what their attention spans.
  double mean_depth = 0;
};

LowerBound lower_bound_tokens(VlmBackend& backend, const Query& q, int k) {
  std::vector<VlmRequest> cuts(4);
  for (int n = 1; n <= 3; ++n) {
    cuts[static_cast<std::size_t>(n - 1)].raw_prompt = pair_prompt(n);
    cuts[static_cast<std::size_t>(n - 1)].images.assign(q.pairs[0].images.begin(),
                                                        q.pairs[0].images.begin() + n);
  }
  cuts[3] = q.pairs[0];
  cuts[3].choices.clear();  // tokenise only
  const auto n = backend.run(cuts);
  // a tile's tokens (the panorama's may differ: Qwen-VL's depend on the image size)
  const double tile = n[1].n_image_tokens - n[0].n_image_tokens;
  const double a1 = n[1].n_prompt_tokens, a2 = n[2].n_prompt_tokens, full = n[3].n_prompt_tokens;
  const double prefix = a1 - tile;         // BOS + text + query image + text before tile A
  const double first = a2 - a1;            // tile A + text before tile B
  const double rest = tile + (full - a2);  // tile B + the question
  LowerBound lb;
  lb.tokens = prefix + k * first + k * (k - 1) * rest;
  lb.mean_depth = (prefix * prefix / 2 + k * first * (prefix + first / 2) +
                   k * (k - 1) * rest * (prefix + first + rest / 2)) /
                  lb.tokens;
  return lb;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorKind::invalid_argument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--queries")
      o.queries = std::stoi(value());
    else if (a == "--k")
      o.k = std::stoi(value());
    else if (a == "--shape")
      o.shape = value();
    else if (a == "--arch")
      o.arch = value();
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--modes")
      o.modes = value();
    else if (a == "--model-dir")
      o.model_dir = value();
    else if (a == "--flash-attn")
      o.flash_attn = std::stoi(value());
    else if (a == "--gpu-layers")
      o.gpu_layers = std::stoi(value());
    else if (a == "--types") {
      o.types.clear();
      std::string list = value();
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t end = std::min(list.find(',', at), list.size());
        o.types.push_back(list.substr(at, end - at));
        (void)parse_vlm_fixture_type(o.types.back());
        at = end + 1;
      }
    } else if (a == "--json")
      o.json = true;
    else if (a == "--check")
      o.check = true;
    else
      throw Error(ErrorKind::invalid_argument, "unknown option " + a);
  }
  (void)parse_vlm_fixture_arch(o.arch);
  if (o.queries < 1 || o.k < 2)
    throw Error(ErrorKind::invalid_argument, "--queries >= 1 and --k >= 2 required");
  if (!o.model_dir.empty() && o.types.size() > 1)
    throw Error(ErrorKind::invalid_argument,
                "--types with several types writes its own fixtures: drop --model-dir");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    init_runtime();
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
    const auto fixture_dir = [&](const std::string& type) {
      if (!o.model_dir.empty()) return o.model_dir;
      const std::string dir = (std::filesystem::temp_directory_path() /
                               ("georank-bench-vlm-" + o.arch + "-" + o.shape + "-" + type))
                                  .string();
      const VlmFixtureFiles f =
          write_vlm_fixture(dir, 1, parse_vlm_fixture_shape(o.shape), parse_vlm_fixture_type(type),
                            parse_vlm_fixture_arch(o.arch));
      std::fprintf(stderr, "fixture %s %s %s: %s\n", o.arch.c_str(), o.shape.c_str(), type.c_str(),
                   f.text_types.c_str());
      return dir;
    };
    const auto queries = make_queries(o);
    const auto config_for = [&](const std::string& dir) {
      LlamaConfig c;
      c.model = dir + "/text.gguf";
      c.mmproj = dir + "/mmproj.gguf";
      c.threads = o.threads;
      c.n_ctx = 16384;
      c.n_batch = 2048;
      c.n_ubatch = 512;
      c.n_seq_max = 64;
      c.flash_attn = o.flash_attn;
      c.n_gpu_layers = o.gpu_layers;
      return c;
    };
    // llama-bench's prompt rate of one model, measured once per model (CPU runs only: on a GPU
    // the bound would need llama-bench's device flags too).
    double lower_bound = 0;
    LowerBound shape_bound;
    // The pp512 window itself spans depths 0..511 (256 on average): start it 256 short of the
    // shape's mean depth.
    const auto prompt_rate = [&](const std::string& model, Row& row) {
      if (o.gpu_layers != 0) return;
      row.prompt_rate = test::llama_bench_prompt_rate(model, threads, 512, 512, o.flash_attn);
      const int depth = std::max(0, static_cast<int>(std::lround(shape_bound.mean_depth)) - 256);
      row.prompt_rate_at_depth =
          test::llama_bench_prompt_rate(model, threads, 512, 512, o.flash_attn, 2, depth);
      std::fprintf(stderr, "llama-bench pp512 %s: %.1f tokens/s, %.1f after %d tokens\n", model.c_str(),
                   row.prompt_rate, row.prompt_rate_at_depth, depth);
    };

    std::vector<Row> rows;
    const std::string dir = fixture_dir(o.types.front());
    const LlamaConfig base = config_for(dir);
    Row base_rates;
    bool base_measured = false;
    for (char mode : o.modes) {
      if (mode == 'd') {
        for (int slots : {1, 4}) {
          test::LlamaServerOptions so;
          so.model = base.model;
          so.mmproj = base.mmproj;
          so.n_parallel = slots;
          so.n_ctx = 4096 * slots;
          so.threads = threads;
          so.extra_args = {"--batch-size", "2048", "--ubatch-size", "512"};
          if (o.gpu_layers != 0)
            so.extra_args.insert(so.extra_args.end(), {"-ngl", std::to_string(o.gpu_layers)});
          so.work_dir = dir + "/llama-server-" + std::to_string(slots);
          so.start_timeout_s = 300;
          test::LlamaServer server(so);
          RemoteConfig rc;
          rc.servers = {server.url()};
          rc.max_in_flight = slots;
          rc.top_logprobs = 1000;  // the fixture's whole vocabulary: no answer is floored
          rc.timeout_s = 600;
          auto backend = make_remote_backend(rc);
          const std::string name =
              "d_llama_server_" + std::to_string(slots) + (slots == 1 ? "_slot" : "_slots");
          rows.push_back(measure(name, *backend, queries));
          rows.back().type = o.types.front();
          std::fprintf(stderr, "%s: %.1f s\n", name.c_str(), rows.back().seconds);
        }
        continue;
      }
      LlamaConfig cfg = base;
      cfg.cache_images = mode != 'a';
      cfg.share_prefixes = mode == 'c';
      const std::string name = mode == 'a'   ? "a_from_scratch"
                               : mode == 'b' ? "b_encode_once"
                                             : "c_encode_once_prefix_tree";
      auto backend = make_llama_backend(cfg);
      if (lower_bound == 0) {
        shape_bound = lower_bound_tokens(*backend, queries[0], o.k);
        lower_bound = shape_bound.tokens;
      }
      if (!base_measured) {
        prompt_rate(base.model, base_rates);
        base_measured = true;
      }
      rows.push_back(measure(name, *backend, queries));
      rows.back().type = o.types.front();
      rows.back().prompt_rate = base_rates.prompt_rate;
      rows.back().prompt_rate_at_depth = base_rates.prompt_rate_at_depth;
      rows.back().images_encoded = mode == 'a' ? 3 * rows.back().comparisons : o.queries * (o.k + 1);
      std::fprintf(stderr, "%s: %.1f s\n", name.c_str(), rows.back().seconds);
    }
    // Row (c) for every further weight type.
    for (std::size_t t = 1; t < o.types.size(); ++t) {
      const LlamaConfig cfg = config_for(fixture_dir(o.types[t]));
      auto backend = make_llama_backend(cfg);
      Row rates;
      prompt_rate(cfg.model, rates);
      rows.push_back(measure("c_encode_once_prefix_tree_" + o.types[t], *backend, queries));
      rows.back().type = o.types[t];
      rows.back().prompt_rate = rates.prompt_rate;
      rows.back().prompt_rate_at_depth = rates.prompt_rate_at_depth;
      rows.back().images_encoded = o.queries * (o.k + 1);
      std::fprintf(stderr, "%s: %.1f s\n", rows.back().name.c_str(), rows.back().seconds);
    }

    auto find = [&](char mode) -> const Row* {
      for (const auto& r : rows)
        if (r.name[0] == mode) return &r;
      return nullptr;
    };
    nlohmann::json j;
    j["note"] = "random-weight fixture model: speed and agreement only, the answers mean nothing";
    j["shape"] = o.shape;
    j["arch"] = o.arch;
    j["types"] = o.types;
    j["gpu_layers"] = o.gpu_layers;
    j["queries"] = o.queries;
    j["k"] = o.k;
    j["comparisons_per_query"] = o.k * (o.k - 1);
    j["threads"] = o.threads;
    j["flash_attn"] = o.flash_attn;
    j["lower_bound_tokens_per_query"] = lower_bound;
    j["mean_kv_depth"] = shape_bound.mean_depth;
    const Row* ref = find('a');
    for (const auto& r : rows) {
      double max_diff = 0, max_lp_diff = 0;
      if (ref)
        for (std::size_t i = 0; i < r.probs.size(); ++i)
          for (std::size_t c = 0; c < r.probs[i].size(); ++c) {
            max_diff = std::max(max_diff, std::abs(r.probs[i][c] - ref->probs[i][c]));
            max_lp_diff = std::max(max_lp_diff, std::abs(r.logprobs[i][c] - ref->logprobs[i][c]));
          }
      nlohmann::json bound, efficiency, encode_per_image, bound_depth, efficiency_depth;
      if (r.prompt_rate > 0 && r.images_encoded > 0) {
        const double encode_s = r.encode_ms / 1000.0;
        const double b = static_cast<double>(r.decoded_tokens) / r.prompt_rate + encode_s;
        const double bd = static_cast<double>(r.decoded_tokens) / r.prompt_rate_at_depth + encode_s;
        bound = b;
        efficiency = b / r.seconds;
        bound_depth = bd;
        efficiency_depth = bd / r.seconds;
        encode_per_image = r.encode_ms / r.images_encoded;
      }
      j["rows"].push_back(
          {{"name", r.name},
           {"type", r.type},
           {"seconds", r.seconds},
           {"llama_bench_pp512_tokens_per_s",
            r.prompt_rate > 0 ? nlohmann::json(r.prompt_rate) : nlohmann::json()},
           {"images_encoded", r.images_encoded},
           {"encode_ms_per_image", encode_per_image},
           {"bound_seconds", bound},
           {"efficiency", efficiency},
           {"llama_bench_pp512_at_depth_tokens_per_s",
            r.prompt_rate_at_depth > 0 ? nlohmann::json(r.prompt_rate_at_depth) : nlohmann::json()},
           {"bound_seconds_at_depth", bound_depth},
           {"efficiency_at_depth", efficiency_depth},
           {"comparisons", r.comparisons},
           {"comparisons_per_s", r.comparisons / r.seconds},
           {"queries_per_s", o.queries / r.seconds},
           {"decoded_tokens_per_query", static_cast<double>(r.decoded_tokens) / o.queries},
           {"encode_ms_per_query", r.encode_ms / o.queries},
           {"max_abs_prob_diff_vs_a", ref ? nlohmann::json(max_diff) : nlohmann::json()},
           {"max_abs_logprob_diff_vs_a", ref ? nlohmann::json(max_lp_diff) : nlohmann::json()}});
    }
    const Row *a = find('a'), *c = find('c');
    j["ratios"]["c_over_a"] =
        a && c ? nlohmann::json((c->comparisons / c->seconds) / (a->comparisons / a->seconds))
               : nlohmann::json();
    const Row* d = nullptr;  // the faster llama-server configuration
    for (const auto& r : rows)
      if (r.name[0] == 'd' && (d == nullptr || r.seconds / r.comparisons < d->seconds / d->comparisons))
        d = &r;
    j["ratios"]["c_over_d"] =
        c && d ? nlohmann::json((c->comparisons / c->seconds) / (d->comparisons / d->seconds))
               : nlohmann::json();
    j["efficiency"] = nlohmann::json();  // row (c)'s, the headline number
    for (const auto& r : j["rows"])
      if (r["name"] == "c_encode_once_prefix_tree") {
        j["efficiency"] = r["efficiency"];
        j["efficiency_at_depth"] = r["efficiency_at_depth"];
      }
    j["ratios"]["tokens_over_lower_bound"] =
        c ? nlohmann::json(static_cast<double>(c->decoded_tokens) / o.queries / lower_bound)
          : nlohmann::json();
    if (o.json) {
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("%-34s %-7s %9s %12s %14s %10s %11s %10s %12s\n", "row", "type", "seconds", "comp/s",
                  "tokens/query", "bound s", "efficiency", "eff@depth", "max|dp| vs a");
      const auto num = [](const nlohmann::json& v, const char* spec) {
        return v.is_null() ? std::string("-") : fmt::format(fmt::runtime(spec), v.get<double>());
      };
      for (const auto& r : j["rows"])
        std::printf("%-34s %-7s %9.2f %12.3f %14.0f %10s %11s %10s %12s\n",
                    r["name"].get<std::string>().c_str(), r["type"].get<std::string>().c_str(),
                    r["seconds"].get<double>(), r["comparisons_per_s"].get<double>(),
                    r["decoded_tokens_per_query"].get<double>(), num(r["bound_seconds"], "{:.2f}").c_str(),
                    num(r["efficiency"], "{:.3f}").c_str(), num(r["efficiency_at_depth"], "{:.3f}").c_str(),
                    r["max_abs_prob_diff_vs_a"].dump().c_str());
      std::printf("lower bound tokens/query %.0f; ratios %s\n%s\n", lower_bound, j["ratios"].dump().c_str(),
                  j["note"].get<std::string>().c_str());
    }
    if (o.check)
      for (const auto& r : j["rows"]) {
        if (r["name"].get<std::string>()[0] == 'd' || o.gpu_layers != 0) continue;
        const bool ok = r["efficiency"].is_number() && std::isfinite(r["efficiency"].get<double>()) &&
                        r["efficiency"].get<double>() > 0 && r["bound_seconds"].get<double>() > 0;
        if (!ok) {
          std::fprintf(stderr, "bench_pairwise_throughput: --check: row %s has no usable efficiency\n",
                       r["name"].get<std::string>().c_str());
          return 1;
        }
      }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pairwise_throughput: %s\n", e.what());
    return 1;
  }
}
