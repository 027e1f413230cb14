#include "georank/eval/shard_merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/sqlite.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/ranking.hpp"
#include "georank/data/shard.hpp"
#include "georank/eval/experiment.hpp"
#include "georank/retrieval/embed_dataset.hpp"
#include "georank/retrieval/npy.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "merge: " + what);
}

json read_json_file(const std::string& path) {
  try {
    return json::parse(read_file_text(path));
  } catch (const json::exception& e) {
    fail(fmt::format("{}: not JSON: {}", path, e.what()));
  }
}

// ---- which shard each input is -------------------------------------------------------------

struct ShardInput {
  std::string path;
  Shard shard;
};

// Orders `inputs` by shard index and checks that they are the whole set 0..N-1 of one N.
std::vector<ShardInput> ordered_shards(std::vector<ShardInput> inputs) {
  for (const auto& in : inputs)
    if (in.shard.whole())
      fail(fmt::format("{} is not a shard's output (its sidecar records no --shard)", in.path));
  const std::size_t n = inputs.front().shard.count;
  for (const auto& in : inputs)
    if (in.shard.count != n)
      fail(fmt::format("{} is shard {} but {} is shard {}: every input must be a shard of the same N",
                       inputs.front().path, to_string(inputs.front().shard), in.path, to_string(in.shard)));
  std::sort(inputs.begin(), inputs.end(),
            [](const ShardInput& a, const ShardInput& b) { return a.shard.index < b.shard.index; });
  std::vector<std::string> missing, repeated;
  std::size_t next = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::size_t index = inputs[i].shard.index;
    if (i > 0 && index == inputs[i - 1].shard.index) {
      repeated.push_back(
          fmt::format("{} ({} and {})", to_string(inputs[i].shard), inputs[i - 1].path, inputs[i].path));
      continue;
    }
    for (; next < index; ++next) missing.push_back(fmt::format("{}/{}", next, n));
    next = index + 1;
  }
  for (; next < n; ++next) missing.push_back(fmt::format("{}/{}", next, n));
  if (!repeated.empty()) fail(fmt::format("shard given twice: {}", fmt::join(repeated, "; ")));
  if (!missing.empty())
    fail(fmt::format("incomplete shard set: missing shard{} {} of {}", missing.size() > 1 ? "s" : "",
                     fmt::join(missing, ", "), n));
  return inputs;
}

Shard shard_of_meta(const json& meta) {
  if (!meta.contains("shard") || !meta["shard"].is_object()) return {};
  const json& s = meta["shard"];
  return {s.value("index", std::size_t{0}), s.value("count", std::size_t{1})};
}

// ---- sidecars ------------------------------------------------------------------------------

// How a sidecar's fields join: JSON pointers ("/counts/*": every member of /counts).
struct MetaRules {
  std::vector<std::string> sum;     ///< numbers added up over the shards
  std::vector<std::string> first;   ///< shard 0's value (what one machine computes once)
  std::vector<std::string> latest;  ///< the greatest string (timestamps)
  std::map<std::string, json> set;  ///< the merged output's own value
};

void erase_shard_keys(json& j) {
  if (j.is_object()) {
    j.erase("shard");
    for (auto& [key, value] : j.items()) erase_shard_keys(value);
  } else if (j.is_array()) {
    for (auto& value : j) erase_shard_keys(value);
  }
}

// A path as one spelling: absolute and normalised (the file need not exist).
std::string canonical(const std::string& path) {
  const fs::path abs = fs::absolute(path.empty() ? fs::path(".") : fs::path(path));
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(abs, ec);
  return (ec ? abs.lexically_normal() : p).string();
}

// A shard's folder and where its paths go: as its files spell it, and absolute.
struct Move {
  std::string from, to;
};

// Moves paths inside `from` (a shard's folder, as its files spell it) to `to`.
void rewrite_paths(json& j, const std::string& from, const std::string& to) {
  if (from.empty() || from == to) return;
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == from) {
      j = to.empty() ? std::string(".") : to;
    } else if (s.size() > from.size() && s.compare(0, from.size(), from) == 0 && s[from.size()] == '/') {
      j = to.empty() ? s.substr(from.size() + 1) : to + s.substr(from.size());
    }
  } else if (j.is_structured()) {
    for (auto& value : j) rewrite_paths(value, from, to);
  }
}

// The pointers a rule names in `j` ("/a/*" expands to every member of /a).
std::vector<json::json_pointer> expand(const json& j, const std::string& rule) {
  std::vector<json::json_pointer> out;
  if (rule.ends_with("/*")) {
    const json::json_pointer parent(rule.substr(0, rule.size() - 2));
    if (j.contains(parent) && j.at(parent).is_object())
      for (const auto& [key, value] : j.at(parent).items()) out.push_back(parent / key);
  } else if (const json::json_pointer p(rule); j.contains(p)) {
    out.push_back(p);
  }
  return out;
}

// The first field where `a` and `b` differ, as "a.b.c", or "" when they are equal; `va` and
// `vb` are set to the two values there (null when one side lacks the field).
std::string first_difference(const json& a, const json& b, const std::string& at = "", json* va = nullptr,
                             json* vb = nullptr) {
  if (a == b) return "";
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      const std::string where = at.empty() ? k : at + "." + k;
      if (!a.contains(k) || !b.contains(k)) {
        if (va != nullptr) *va = a.contains(k) ? a.at(k) : json();
        if (vb != nullptr) *vb = b.contains(k) ? b.at(k) : json();
        return where;
      }
      if (auto d = first_difference(a.at(k), b.at(k), where, va, vb); !d.empty()) return d;
    }
  }
  if (va != nullptr) *va = a;
  if (vb != nullptr) *vb = b;
  return at.empty() ? "(the whole file)" : at;
}

// Joins shard sidecars by `rules`; `names` are the files they came from (for errors).
json merge_meta(std::vector<json> metas, const std::vector<std::string>& names, const MetaRules& rules) {
  for (auto& m : metas) erase_shard_keys(m);
  json merged = metas.front();
  std::vector<json> rest = metas;  // the fields that must agree
  const auto blank = [&](const std::vector<std::string>& ptrs) {
    for (const auto& rule : ptrs)
      for (auto& m : rest)
        for (const auto& p : expand(m, rule)) m[p] = nullptr;
  };
  for (const auto& rule : rules.sum)
    for (const auto& p : expand(merged, rule)) {
      bool all_integers = true;
      double total = 0;
      std::int64_t total_int = 0;
      for (std::size_t i = 0; i < metas.size(); ++i) {
        if (!metas[i].contains(p) || !metas[i].at(p).is_number())
          fail(fmt::format("{}: field '{}' is missing or not a number", names[i], p.to_string()));
        const json& v = metas[i].at(p);
        all_integers = all_integers && v.is_number_integer();
        total += v.get<double>();
        if (v.is_number_integer()) total_int += v.get<std::int64_t>();
      }
      merged[p] = all_integers ? json(total_int) : json(total);
    }
  for (const auto& rule : rules.latest)
    for (const auto& p : expand(merged, rule))
      for (const auto& m : metas)
        if (m.contains(p) && m.at(p).is_string() &&
            m.at(p).get<std::string>() > merged.at(p).get<std::string>())
          merged[p] = m.at(p);
  for (const auto& [ptr, value] : rules.set)
    if (merged.contains(json::json_pointer(ptr))) merged[json::json_pointer(ptr)] = value;
  blank(rules.sum);
  blank(rules.first);
  blank(rules.latest);
  std::vector<std::string> set_ptrs;
  for (const auto& [ptr, value] : rules.set) set_ptrs.push_back(ptr);
  blank(set_ptrs);
  for (std::size_t i = 1; i < rest.size(); ++i) {
    json va, vb;
    const std::string d = first_difference(rest.front(), rest[i], "", &va, &vb);
    if (d.empty()) continue;
    const bool paths = va.is_string() && vb.is_string();
    fail(fmt::format(
        "{} and {} differ in field '{}' ({} vs {}): shards of different settings or inputs cannot be "
        "joined{}",
        names.front(), names[i], d, va.dump(), vb.dump(),
        paths ? "; if these are each shard's own files, give every shard a folder of its own with the same "
                "file names (shards/I/...), as docs/scale-out.md shows"
              : ""));
  }
  return merged;
}

void rewrite_paths(json& j, const std::vector<Move>& moves) {
  for (const auto& m : moves) rewrite_paths(j, m.from, m.to);
}

// The moves of a shard folder `dir` (its files spell it `spelled`) to `out`.
std::vector<Move> moves_of(const std::string& spelled, const std::string& dir, const std::string& out) {
  return {{spelled, out}, {canonical(dir), canonical(out)}};
}

// Refreshes the descriptors of files this merge wrote ({"path", "sha256", "rows", "meta_file",
// "meta"}, as retrieve records its embeddings) from the merged files. `written` holds
// canonical paths.
void refresh_descriptors(json& j, const std::set<std::string>& written) {
  if (j.is_object()) {
    if (j.contains("path") && j["path"].is_string() && j.contains("sha256") &&
        written.contains(canonical(j["path"].get<std::string>()))) {
      const std::string path = j["path"].get<std::string>();
      j["sha256"] = sha256_file(path);
      if (j.contains("rows")) j["rows"] = read_npy_header(path).rows;
      if (j.contains("meta_file") && j["meta_file"].is_string()) {
        std::string meta_file = j["meta_file"].get<std::string>();
        if (!fs::exists(meta_file))
          meta_file = (fs::path(path).parent_path() / fs::path(meta_file).filename()).string();
        j["meta"] = read_json_file(meta_file);
      }
    }
    for (auto& [key, value] : j.items()) refresh_descriptors(value, written);
  } else if (j.is_array()) {
    for (auto& value : j) refresh_descriptors(value, written);
  }
}

// ---- the kinds -----------------------------------------------------------------------------

struct Context {
  std::set<std::string> written;  ///< files this merge wrote (their descriptors are refreshed)
  MergeResult result;
  void wrote(const std::string& path) {
    written.insert(canonical(path));
    result.written.push_back(path);
  }
};

// The folder a shard's own paths start with, as its sidecar spells them.
std::string folder_of(const std::string& file) {
  return fs::path(file).parent_path().string();
}

void merge_rankings(const std::vector<ShardInput>& shards, const std::string& out,
                    const std::vector<std::vector<Move>>& moves, Context& ctx) {
  std::vector<json> metas;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    json m = read_json_file(meta_path_for(shards[i].path));
    rewrite_paths(m, moves[i]);
    refresh_descriptors(m, ctx.written);
    metas.push_back(std::move(m));
    names.push_back(meta_path_for(shards[i].path));
  }
  MetaRules rules;
  rules.sum = {"/n_queries", "/timing_s/*", "/counts/*", "/seconds"};
  rules.latest = {"/created_utc"};
  rules.set = {{"/output", out}, {"/out", out}};
  const json meta = merge_meta(std::move(metas), names, rules);
  std::string text;
  for (const auto& s : shards) {
    read_rankings(s.path);  // a malformed shard stops the merge before anything is written
    std::string part = read_file_text(s.path);
    if (!part.empty() && part.back() != '\n') part += '\n';
    text += part;
  }
  write_file_atomic(out, text);
  ctx.wrote(out);
  write_json_atomic(meta_path_for(out), meta);
  ctx.wrote(meta_path_for(out));
}

// The union of SQLite files' rows, table by table, in input order (a key already present
// keeps its first row). The schema and user_version are the first input's.
void merge_sqlite(const std::vector<std::string>& inputs, const std::string& out, Context& ctx) {
  for (const auto& in : inputs)
    if (!fs::is_regular_file(in)) throw Error(ErrorKind::not_found, "merge: no such cache: " + in);
  AtomicPath target(out);
  std::error_code ec;
  fs::remove(target.tmp(), ec);
  {
    sqlite::db_ptr first = sqlite::open(inputs.front());
    sqlite::Statement vacuum(first.get(), "VACUUM INTO ?1");
    vacuum.bind(1, target.tmp());
    vacuum.step();
  }
  {
    sqlite::db_ptr db = sqlite::open(target.tmp());
    std::vector<std::string> tables;
    {
      sqlite::Statement list(
          db.get(),
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
          "ORDER BY rowid");
      while (list.step()) tables.push_back(list.column_text(0));
    }
    for (std::size_t i = 1; i < inputs.size(); ++i) {
      sqlite::Statement attach(db.get(), "ATTACH DATABASE ?1 AS shard");
      attach.bind(1, inputs[i]);
      attach.step();
      sqlite::Transaction tx(db.get());
      for (const auto& t : tables) {
        const std::string quoted = "\"" + t + "\"";
        sqlite::exec(db.get(), "INSERT OR IGNORE INTO main." + quoted + " SELECT * FROM shard." + quoted +
                                   " ORDER BY rowid");
      }
      tx.commit();
      sqlite::exec(db.get(), "DETACH DATABASE shard");
    }
  }
  target.commit();
  ctx.wrote(out);
}

struct EmbeddingsShard {
  std::string dir;
  json meta;
};

void merge_embeddings(const std::vector<ShardInput>& shards, const std::string& out_dir, Context& ctx) {
  std::vector<json> metas;
  std::vector<std::string> names;
  for (const auto& s : shards) {
    names.push_back(embed_step_paths(s.path).meta_path);
    metas.push_back(read_json_file(names.back()));
  }
  const bool gallery_sharded = metas.front()["shard"].value("gallery", false);
  const EmbedStepResult out = embed_step_paths(out_dir);
  fs::create_directories(out_dir);
  MetaRules rules;
  for (const char* view : {"queries", "gallery"}) {
    if (!metas.front().contains(view)) continue;
    const bool sharded = std::string(view) == "queries" || gallery_sharded;
    for (const char* field : {"n", "n_cached", "n_encoded"})
      (sharded ? rules.sum : rules.first).push_back(fmt::format("/{}/{}", view, field));
    rules.first.push_back(fmt::format("/{}/sha256", view));
  }
  json meta = merge_meta(metas, names, rules);
  for (const char* view : {"queries", "gallery"}) {
    if (!meta.contains(view)) continue;
    const std::string file = meta[view].value("npy", std::string(view) + ".npy");
    const std::string target = (fs::path(out_dir) / file).string();
    const bool sharded = std::string(view) == "queries" || gallery_sharded;
    Embeddings all;
    std::optional<NpyDtype> dtype;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (!sharded && i > 0) {
        if (metas[i][view].value("sha256", "") != metas[0][view].value("sha256", ""))
          fail(fmt::format("{} and {} hold different {} embeddings", names[0], names[i], view));
        continue;
      }
      const std::string npy = (fs::path(shards[i].path) / file).string();
      const NpyHeader header = read_npy_header(npy);
      if (dtype && *dtype != header.dtype) fail(fmt::format("{}: another dtype than shard 0's", npy));
      dtype = header.dtype;
      Embeddings e = read_embeddings(npy);
      if (all.ids.empty()) {
        all.matrix.cols = e.matrix.cols;
      } else if (e.matrix.cols != all.matrix.cols) {
        fail(fmt::format("{}: {} columns, not {} as in shard 0", npy, e.matrix.cols, all.matrix.cols));
      }
      all.ids.insert(all.ids.end(), e.ids.begin(), e.ids.end());
      all.matrix.values.insert(all.matrix.values.end(), e.matrix.values.begin(), e.matrix.values.end());
      all.matrix.rows += e.matrix.rows;
    }
    write_embeddings(target, all, dtype.value_or(NpyDtype::float32));
    meta[view]["sha256"] = sha256_file(target);
    ctx.wrote(target);
    ctx.wrote(ids_path_for(target));
  }
  // A trained index next to the gallery (retrieve's persisted index) is the same in every
  // shard when the gallery is whole.
  if (!gallery_sharded)
    for (const auto& entry : fs::directory_iterator(shards.front().path))
      if (entry.path().extension() == ".faiss") {
        const std::string target = (fs::path(out_dir) / entry.path().filename()).string();
        AtomicPath copy(target);
        fs::copy_file(entry.path(), copy.tmp(), fs::copy_options::overwrite_existing);
        copy.commit();
        ctx.wrote(target);
      }
  std::vector<std::string> caches;
  for (const auto& s : shards)
    if (const auto c = fs::path(s.path) / "embed-cache.sqlite"; fs::exists(c)) caches.push_back(c.string());
  if (caches.size() == shards.size())
    merge_sqlite(caches, (fs::path(out_dir) / "embed-cache.sqlite").string(), ctx);
  write_json_atomic(out.meta_path, meta);
  ctx.wrote(out.meta_path);
}

// The run config a shard folder was run with, and its summary.
struct RunShard {
  std::string dir;
  ExperimentConfig config;
  json summary;
};

void merge_runs(const std::vector<ShardInput>& shards, const std::string& out, Context& ctx) {
  std::vector<RunShard> runs;
  for (const auto& s : shards) {
    RunShard r{s.path, read_experiment_config((fs::path(s.path) / "run.resolved.toml").string()),
               read_json_file((fs::path(s.path) / "summary.json").string())};
    runs.push_back(std::move(r));
  }
  // The config one machine runs: shard 0's without the shard, writing to `out`, its caches
  // inside the run folder moved along.
  std::vector<std::vector<Move>> moves;
  for (const auto& r : runs) moves.push_back(moves_of(r.config.out, r.dir, out));
  const auto joined_config = [&](std::size_t i) {
    ExperimentConfig c = runs[i].config;
    c.shard.clear();
    c.out = out;
    const auto moved = [&](std::string& path) {
      json j = path;
      rewrite_paths(j, moves[i]);
      path = j.get<std::string>();
    };
    moved(c.embed.cache);
    for (auto& s : c.strategies) moved(s.step.cache);
    return c;
  };
  const ExperimentConfig cfg = joined_config(0);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const ExperimentConfig other = joined_config(i);
    if (const std::string d = first_difference(to_json(cfg), to_json(other)); !d.empty())
      fail(fmt::format("{} and {} were run with different settings (field '{}')", runs[0].dir, runs[i].dir,
                       d));
  }
  fs::create_directories(out);
  const ExperimentPaths paths = experiment_paths(cfg);
  write_file_atomic(paths.resolved_toml, resolved_toml(cfg));
  ctx.wrote(paths.resolved_toml);
  if (cfg.candidates.empty()) {
    std::vector<ShardInput> emb;
    for (const auto& s : shards) emb.push_back({(fs::path(s.path) / "embeddings").string(), s.shard});
    merge_embeddings(emb, paths.embeddings_dir, ctx);
    std::vector<ShardInput> cands;
    for (const auto& s : shards) cands.push_back({(fs::path(s.path) / "candidates.jsonl").string(), s.shard});
    merge_rankings(cands, paths.candidates, moves, ctx);
  }
  // The judgment caches inside the shards' folders, each joined once.
  std::set<std::string> caches_done;
  for (std::size_t k = 0; k < cfg.strategies.size(); ++k) {
    const std::string& cache = cfg.strategies[k].step.cache;
    if (cache.empty() || caches_done.contains(cache) || cache == runs.front().config.strategies[k].step.cache)
      continue;  // no cache, joined already, or outside the shards' folders (shared by all)
    std::vector<std::string> inputs;
    for (const auto& r : runs) inputs.push_back(r.config.strategies[k].step.cache);
    merge_sqlite(inputs, cache, ctx);
    caches_done.insert(cache);
  }
  for (const auto& s : cfg.strategies) {
    std::vector<ShardInput> files;
    for (const auto& sh : shards)
      files.push_back({(fs::path(sh.path) / fs::path(paths.reranked(s.name)).filename()).string(), sh.shard});
    merge_rankings(files, paths.reranked(s.name), moves, ctx);
  }
  // The summary: metrics of the joined rankings; judgments computed and seconds added up.
  const Dataset ds = load_dataset(cfg.dataset);
  std::vector<ExperimentRow> rows = experiment_rows(cfg, ds);
  for (const auto& r : runs) {
    const json& shard_rows = r.summary.at("rows");
    if (shard_rows.size() != rows.size())
      fail(fmt::format("{}/summary.json has {} rows, not {}", r.dir, shard_rows.size(), rows.size()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i].vlm_calls += shard_rows[i].value("vlm_calls", std::int64_t{0});
      rows[i].seconds += shard_rows[i].value("seconds", 0.0);
    }
  }
  write_experiment_summary(cfg, std::move(rows), runs.front().summary.value("config_file", std::string()));
  ctx.wrote(paths.summary_json);
  ctx.wrote(paths.summary_md);
}

bool is_sqlite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  return in.gcount() == 16 && std::string(header, 16) == std::string("SQLite format 3\0", 16);
}

}  // namespace

const char* to_string(MergeKind kind) {
  switch (kind) {
    case MergeKind::rankings: return "rankings";
    case MergeKind::embeddings: return "embeddings";
    case MergeKind::cache: return "cache";
    case MergeKind::run: return "run";
  }
  return "?";
}

MergeKind merge_kind(const std::string& path) {
  if (!fs::exists(path)) throw Error(ErrorKind::not_found, "merge: no such file or folder: " + path);
  if (fs::is_directory(path)) {
    if (fs::exists(fs::path(path) / "run.resolved.toml")) return MergeKind::run;
    if (fs::exists(fs::path(path) / "embeddings.meta.json")) return MergeKind::embeddings;
    fail(path +
         " is a folder but neither a run folder (run.resolved.toml) nor an embed folder "
         "(embeddings.meta.json)");
  }
  return is_sqlite(path) ? MergeKind::cache : MergeKind::rankings;
}

MergeResult merge_shards(const std::vector<std::string>& inputs, const std::string& out) {
  if (inputs.empty()) fail("no inputs");
  const MergeKind kind = merge_kind(inputs.front());
  std::error_code ec;
  for (const auto& in : inputs) {
    if (merge_kind(in) != kind)
      fail(fmt::format("{} is a {} output but {} is a {} output", inputs.front(), to_string(kind), in,
                       to_string(merge_kind(in))));
    if (fs::equivalent(in, out, ec)) fail(fmt::format("--out {} is one of the inputs", out));
  }
  Context ctx;
  ctx.result.kind = kind;
  ctx.result.n_shards = inputs.size();
  if (kind == MergeKind::cache) {
    merge_sqlite(inputs, out, ctx);
    return ctx.result;
  }
  std::vector<ShardInput> shards;
  for (const auto& in : inputs) {
    Shard shard;
    if (kind == MergeKind::rankings) {
      const std::string meta = meta_path_for(in);
      if (!fs::exists(meta)) fail(fmt::format("{} has no sidecar {}: not a georank output", in, meta));
      shard = shard_of_meta(read_json_file(meta));
    } else if (kind == MergeKind::embeddings) {
      shard = shard_of_meta(read_json_file(embed_step_paths(in).meta_path));
    } else {
      shard = parse_shard(read_experiment_config((fs::path(in) / "run.resolved.toml").string()).shard);
    }
    shards.push_back({in, shard});
  }
  shards = ordered_shards(std::move(shards));
  switch (kind) {
    case MergeKind::rankings: {
      std::vector<std::vector<Move>> moves;
      for (const auto& s : shards)
        moves.push_back(moves_of(folder_of(s.path), folder_of(s.path), folder_of(out)));
      merge_rankings(shards, out, moves, ctx);
      break;
    }
    case MergeKind::embeddings: merge_embeddings(shards, out, ctx); break;
    case MergeKind::run: merge_runs(shards, out, ctx); break;
    case MergeKind::cache: break;
  }
  return ctx.result;
}

}  // namespace georank
