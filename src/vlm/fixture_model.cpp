#include <ggml.h>
#include <gguf.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "georank/atomic_file.hpp"
#include "georank/error.hpp"
#include "georank/vlm_fixture.hpp"

namespace georank {

const char* const kVlmFixtureChatTemplate =
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + '\\n' }}"
    "{% else %}{{ 'ASSISTANT: ' + message['content'] + eos_token + '\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

namespace {

namespace fs = std::filesystem;

struct Dims {
  // text model
  int n_embd, n_ff, n_layer, n_head, n_head_kv, n_ctx;
  // vision tower
  int image_size, patch_size, v_embd, v_ff, v_layer, v_head;
  ggml_type matrix_type;
};

Dims dims_for(VlmFixtureShape shape) {
  if (shape == VlmFixtureShape::bench)
    return {576, 1536, 30, 9, 3, 8192, 224, 16, 768, 3072, 12, 12, GGML_TYPE_F16};
  // F != D on purpose: clip.cpp swaps ffn weights that look transposed.
  return {64, 128, 2, 4, 2, 4096, 32, 8, 32, 48, 2, 2, GGML_TYPE_F32};
}

// SPM "llama" vocabulary. SentencePiece merges adjacent symbols only when the merged piece
// exists, so every multi-character piece comes with all of its prefixes (longer scores
// higher). Byte tokens cover ASCII only: llama.cpp cannot tokenise other text with it.
struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  void add(const std::string& text, float score, std::int32_t type) {
    for (const auto& t : tokens)
      if (t == text) return;
    tokens.push_back(text);
    scores.push_back(score);
    types.push_back(type);
  }
};

Vocab make_vocab() {
  constexpr std::int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;
  Vocab v;
  v.add("<unk>", 0.0f, kUnknown);
  v.add("<s>", 0.0f, kControl);
  v.add("</s>", 0.0f, kControl);
  for (int b = 0; b < 128; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.add(buf, 0.0f, kByte);
  }
  const std::string space = "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary
  v.add(space, -1.0f, kNormal);
  for (char c = 0x21; c < 0x7f; ++c) v.add(std::string(1, c), -1.0f, kNormal);
  std::vector<std::string> words = {
      space + "A",    space + "B",   space + "C",         space + "D",     space + "E",   space + "Yes",
      space + "No",   space + "yes", space + "no",        "Yes",           "No",          "USER",
      space + "USER", "ASSISTANT",   space + "ASSISTANT", space + "image", space + "the", space + "Answer",
      space + "Which"};
  for (char d = '0'; d <= '9'; ++d) words.push_back(space + d);
  for (const auto& w : words) {
    // prefixes start after the first (possibly multi-byte) character
    const std::size_t first = w.rfind(space, 0) == 0 ? space.size() : 1;
    for (std::size_t n = first + 1; n <= w.size(); ++n) v.add(w.substr(0, n), static_cast<float>(n), kNormal);
  }
  return v;
}

// splitmix64: a fixed generator so the files are identical across platforms and libraries.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// uniform in [-1, 1)
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }
};

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

enum class Init { random, ones, zeros };

struct TensorSpec {
  std::string name;
  std::vector<std::int64_t> ne;
  ggml_type type;
  Init init;
  double stddev;  ///< of the uniform distribution, when random
};

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

std::vector<std::uint8_t> tensor_bytes(const TensorSpec& spec, std::uint64_t seed) {
  std::int64_t n = 1;
  for (auto d : spec.ne) n *= d;
  std::vector<float> values(static_cast<std::size_t>(n), spec.init == Init::ones ? 1.0f : 0.0f);
  if (spec.init == Init::random) {
    Rng rng{seed ^ fnv1a(spec.name)};
    const double half_width = spec.stddev * std::sqrt(3.0);
    for (auto& x : values) x = static_cast<float>(rng.uniform() * half_width);
  }
  std::vector<std::uint8_t> out;
  if (spec.type == GGML_TYPE_F16) {
    std::vector<ggml_fp16_t> half(values.size());
    ggml_fp32_to_fp16_row(values.data(), half.data(), n);
    out.resize(half.size() * sizeof(ggml_fp16_t));
    std::memcpy(out.data(), half.data(), out.size());
  } else {
    out.resize(values.size() * sizeof(float));
    std::memcpy(out.data(), values.data(), out.size());
  }
  return out;
}

// Writes metadata with gguf_write_to_file(only_meta) and then streams each tensor's data in
// gguf's order and alignment, so the bench model never has to sit in memory twice.
void write_gguf(gguf_context* gctx, const std::vector<TensorSpec>& specs, std::uint64_t seed,
                const std::string& path) {
  GgmlPtr ctx(ggml_init({ggml_tensor_overhead() * (specs.size() + 1), nullptr, true}));
  if (!ctx) throw Error(ErrorKind::backend, "ggml_init failed while writing " + path);
  for (const auto& s : specs) {
    ggml_tensor* t = ggml_new_tensor(ctx.get(), s.type, static_cast<int>(s.ne.size()), s.ne.data());
    ggml_set_name(t, s.name.c_str());
    gguf_add_tensor(gctx, t);
  }
  AtomicPath out(path);
  const std::string& tmp = out.tmp();
  if (!gguf_write_to_file(gctx, tmp.c_str(), /*only_meta=*/true))
    throw Error(ErrorKind::io, "cannot write " + tmp);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(tmp.c_str(), "ab"), &std::fclose);
  if (!file) throw Error(ErrorKind::io, "cannot append to " + tmp);
  const auto alignment = static_cast<long>(gguf_get_alignment(gctx));
  auto pad = [&] {
    const long pos = std::ftell(file.get());
    const long n = (alignment - pos % alignment) % alignment;
    for (long i = 0; i < n; ++i) std::fputc(0, file.get());
  };
  pad();
  const long data_start = std::ftell(file.get());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto offset = static_cast<long>(gguf_get_tensor_offset(gctx, static_cast<std::int64_t>(i)));
    if (std::ftell(file.get()) != data_start + offset)
      throw Error(ErrorKind::io, "tensor data offset mismatch for " + specs[i].name + " in " + tmp);
    const auto bytes = tensor_bytes(specs[i], seed);
    if (std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size())
      throw Error(ErrorKind::io, "short write to " + tmp);
    pad();
  }
  if (std::fflush(file.get()) != 0) throw Error(ErrorKind::io, "cannot flush " + tmp);
  file.reset();
  out.commit();
}

void write_text_model(const Dims& d, std::uint64_t seed, const std::string& path) {
  GgufPtr g(gguf_init_empty());
  gguf_set_val_str(g.get(), "general.architecture", "llama");
  gguf_set_val_str(g.get(), "general.name", "georank random-weight fixture (outputs mean nothing)");
  gguf_set_val_u32(g.get(), "llama.context_length", static_cast<std::uint32_t>(d.n_ctx));
  gguf_set_val_u32(g.get(), "llama.embedding_length", static_cast<std::uint32_t>(d.n_embd));
  gguf_set_val_u32(g.get(), "llama.feed_forward_length", static_cast<std::uint32_t>(d.n_ff));
  gguf_set_val_u32(g.get(), "llama.block_count", static_cast<std::uint32_t>(d.n_layer));
  gguf_set_val_u32(g.get(), "llama.attention.head_count", static_cast<std::uint32_t>(d.n_head));
  gguf_set_val_u32(g.get(), "llama.attention.head_count_kv", static_cast<std::uint32_t>(d.n_head_kv));
  gguf_set_val_u32(g.get(), "llama.rope.dimension_count", static_cast<std::uint32_t>(d.n_embd / d.n_head));
  gguf_set_val_f32(g.get(), "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(g.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5f);

  const Vocab v = make_vocab();
  std::vector<const char*> texts;
  for (const auto& t : v.tokens) texts.push_back(t.c_str());
  gguf_set_val_str(g.get(), "tokenizer.ggml.model", "llama");
  gguf_set_arr_str(g.get(), "tokenizer.ggml.tokens", texts.data(), texts.size());
  gguf_set_arr_data(g.get(), "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v.scores.data(), v.scores.size());
  gguf_set_arr_data(g.get(), "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v.types.data(), v.types.size());
  gguf_set_val_u32(g.get(), "tokenizer.ggml.unknown_token_id", 0);
  gguf_set_val_u32(g.get(), "tokenizer.ggml.bos_token_id", 1);
  gguf_set_val_u32(g.get(), "tokenizer.ggml.eos_token_id", 2);
  gguf_set_val_bool(g.get(), "tokenizer.ggml.add_bos_token", true);
  gguf_set_val_bool(g.get(), "tokenizer.ggml.add_eos_token", false);
  gguf_set_val_str(g.get(), "tokenizer.chat_template", kVlmFixtureChatTemplate);

  const std::int64_t e = d.n_embd, f = d.n_ff, nv = static_cast<std::int64_t>(v.tokens.size());
  const std::int64_t e_kv = e / d.n_head * d.n_head_kv;
  const double in_e = 1.0 / std::sqrt(static_cast<double>(e)), in_f = 1.0 / std::sqrt(static_cast<double>(f));
  const ggml_type m = d.matrix_type;
  std::vector<TensorSpec> specs = {
      {"token_embd.weight", {e, nv}, m, Init::random, 1.0},
      {"output_norm.weight", {e}, GGML_TYPE_F32, Init::ones, 0},
      // logits ~ N(0, 1.5^2): a spread distribution, never one-hot, always finite
      {"output.weight", {e, nv}, m, Init::random, 1.5 * in_e},
  };
  for (int i = 0; i < d.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    specs.push_back({b + "attn_norm.weight", {e}, GGML_TYPE_F32, Init::ones, 0});
    specs.push_back({b + "attn_q.weight", {e, e}, m, Init::random, in_e});
    specs.push_back({b + "attn_k.weight", {e, e_kv}, m, Init::random, in_e});
    specs.push_back({b + "attn_v.weight", {e, e_kv}, m, Init::random, in_e});
    specs.push_back({b + "attn_output.weight", {e, e}, m, Init::random, 0.5 * in_e});
    specs.push_back({b + "ffn_norm.weight", {e}, GGML_TYPE_F32, Init::ones, 0});
    specs.push_back({b + "ffn_gate.weight", {e, f}, m, Init::random, in_e});
    specs.push_back({b + "ffn_up.weight", {e, f}, m, Init::random, in_e});
    specs.push_back({b + "ffn_down.weight", {f, e}, m, Init::random, 0.5 * in_f});
  }
  write_gguf(g.get(), specs, seed, path);
}

void write_mmproj(const Dims& d, std::uint64_t seed, const std::string& path) {
  GgufPtr g(gguf_init_empty());
  gguf_set_val_str(g.get(), "general.architecture", "clip");
  gguf_set_val_str(g.get(), "general.name", "georank random-weight fixture projector (outputs mean nothing)");
  gguf_set_val_bool(g.get(), "clip.has_vision_encoder", true);
  gguf_set_val_bool(g.get(), "clip.has_text_encoder", false);
  gguf_set_val_str(g.get(), "clip.projector_type", "mlp");
  gguf_set_val_bool(g.get(), "clip.use_gelu", true);
  gguf_set_val_u32(g.get(), "clip.vision.image_size", static_cast<std::uint32_t>(d.image_size));
  gguf_set_val_u32(g.get(), "clip.vision.patch_size", static_cast<std::uint32_t>(d.patch_size));
  gguf_set_val_u32(g.get(), "clip.vision.embedding_length", static_cast<std::uint32_t>(d.v_embd));
  gguf_set_val_u32(g.get(), "clip.vision.feed_forward_length", static_cast<std::uint32_t>(d.v_ff));
  gguf_set_val_u32(g.get(), "clip.vision.block_count", static_cast<std::uint32_t>(d.v_layer));
  gguf_set_val_u32(g.get(), "clip.vision.attention.head_count", static_cast<std::uint32_t>(d.v_head));
  gguf_set_val_f32(g.get(), "clip.vision.attention.layer_norm_epsilon", 1e-6f);
  gguf_set_val_u32(g.get(), "clip.vision.projection_dim", static_cast<std::uint32_t>(d.n_embd));
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  const float stdv[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  gguf_set_arr_data(g.get(), "clip.vision.image_mean", GGUF_TYPE_FLOAT32, mean, 3);
  gguf_set_arr_data(g.get(), "clip.vision.image_std", GGUF_TYPE_FLOAT32, stdv, 3);

  const std::int64_t p = d.patch_size, dv = d.v_embd, fv = d.v_ff, h = d.n_embd, et = d.n_embd;
  const std::int64_t n_patches = (d.image_size / d.patch_size) * (d.image_size / d.patch_size);
  const double in_d = 1.0 / std::sqrt(static_cast<double>(dv)),
               in_f = 1.0 / std::sqrt(static_cast<double>(fv));
  const double in_p = 1.0 / std::sqrt(static_cast<double>(3 * p * p)),
               in_h = 1.0 / std::sqrt(static_cast<double>(h));
  const ggml_type m = d.matrix_type;
  const ggml_type f32 = GGML_TYPE_F32;
  std::vector<TensorSpec> specs = {
      {"v.patch_embd.weight", {p, p, 3, dv}, m, Init::random, in_p},
      {"v.position_embd.weight", {dv, n_patches}, f32, Init::random, 0.1},
  };
  for (int i = 0; i < d.v_layer; ++i) {
    const std::string b = "v.blk." + std::to_string(i) + ".";
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      specs.push_back({b + name + ".weight", {dv, dv}, m, Init::random, in_d});
      specs.push_back({b + name + ".bias", {dv}, f32, Init::random, 0.02});
    }
    for (const char* name : {"ln1", "ln2"}) {
      specs.push_back({b + name + ".weight", {dv}, f32, Init::ones, 0});
      specs.push_back({b + name + ".bias", {dv}, f32, Init::zeros, 0});
    }
    specs.push_back({b + "ffn_up.weight", {dv, fv}, m, Init::random, in_d});
    specs.push_back({b + "ffn_up.bias", {fv}, f32, Init::random, 0.02});
    specs.push_back({b + "ffn_down.weight", {fv, dv}, m, Init::random, 0.5 * in_f});
    specs.push_back({b + "ffn_down.bias", {dv}, f32, Init::random, 0.02});
  }
  specs.push_back({"mm.0.weight", {dv, h}, m, Init::random, in_d});
  specs.push_back({"mm.0.bias", {h}, f32, Init::random, 0.02});
  specs.push_back({"mm.2.weight", {h, et}, m, Init::random, in_h});
  specs.push_back({"mm.2.bias", {et}, f32, Init::random, 0.02});
  write_gguf(g.get(), specs, seed ^ 0x6d6d70726f6aULL, path);
}

}  // namespace

VlmFixtureShape parse_vlm_fixture_shape(const std::string& name) {
  if (name == "tiny") return VlmFixtureShape::tiny;
  if (name == "bench") return VlmFixtureShape::bench;
  throw Error(ErrorKind::invalid_argument, "unknown fixture shape '" + name + "' (expected tiny or bench)");
}

VlmFixtureFiles write_vlm_fixture(const std::string& out_dir, std::uint64_t seed, VlmFixtureShape shape) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(ErrorKind::io, "cannot create " + out_dir + ": " + ec.message());
  const Dims d = dims_for(shape);
  VlmFixtureFiles files{(fs::path(out_dir) / "text.gguf").string(),
                        (fs::path(out_dir) / "mmproj.gguf").string()};
  write_text_model(d, seed, files.text_model);
  write_mmproj(d, seed, files.mmproj);
  return files;
}

}  // namespace georank
