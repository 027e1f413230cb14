#include "vlm/llama_session.hpp"

#include <strings.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/runtime/runtime.hpp"
#include "vlm/answer_basis.hpp"

namespace georank::vlm {
namespace {

namespace fs = std::filesystem;

// The devices the text model and the projector run on. No GPU asked (--gpu-layers 0, no
// --device): the CPU only, so an installed GPU backend changes nothing. Otherwise the named
// device, or every GPU ggml found; none is a clear error.
struct DeviceChoice {
  std::vector<ggml_backend_dev_t> model_devices;  // null-terminated
  ggml_backend_dev_t mmproj_device = nullptr;
  bool use_gpu = false;
};

std::string device_list() {
  std::string out;
  for (const auto& d : ggml_devices())
    out += (out.empty() ? "" : ", ") + d.name + " (" + d.type +
           (d.description.empty() ? "" : ", " + d.description) + ")";
  return out.empty() ? "none" : out;
}

DeviceChoice choose_devices(const LlamaConfig& config) {
  DeviceChoice c;
  if (config.n_gpu_layers == 0 && config.device.empty()) {
    c.model_devices = {nullptr};
    return c;
  }
  init_runtime();
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    const auto type = ggml_backend_dev_type(dev);
    if (type != GGML_BACKEND_DEVICE_TYPE_GPU && type != GGML_BACKEND_DEVICE_TYPE_IGPU) continue;
    if (!config.device.empty() && strcasecmp(ggml_backend_dev_name(dev), config.device.c_str()) != 0)
      continue;
    c.model_devices.push_back(dev);
  }
  if (c.model_devices.empty()) {
    if (!config.device.empty())
      throw Error(ErrorKind::backend, "device '" + config.device + "' not found; ggml's devices: " +
                                          device_list() + " (georank doctor lists them)");
    throw Error(ErrorKind::backend,
                "--gpu-layers " + std::to_string(config.n_gpu_layers) +
                    " asks for a GPU, but ggml found no GPU device (devices: " + device_list() +
                    "). Use --gpu-layers 0 on this machine; on a GPU machine install a GPU backend with "
                    "GEORANK_GPU=vulkan scripts/setup and check it with georank doctor");
  }
  c.mmproj_device = c.model_devices.front();
  c.model_devices.push_back(nullptr);
  c.use_gpu = true;
  return c;
}

void require_file(const std::string& path, const char* what) {
  if (path.empty()) throw Error(ErrorKind::invalid_argument, std::string("no ") + what + " given");
  if (!fs::is_regular_file(path))
    throw Error(ErrorKind::not_found, std::string(what) + " not found: " + path);
}

}  // namespace

LlamaSession::LlamaSession(const LlamaConfig& config) : config_(config), cache_(config.image_cache_bytes) {
  require_file(config.model, "text model");
  require_file(config.mmproj, "mmproj");
  if (config.n_ctx < 64 || config.n_batch < 1 || config.n_ubatch < 1 || config.n_seq_max < 2)
    throw Error(ErrorKind::invalid_argument,
                "n_ctx >= 64, n_batch >= 1, n_ubatch >= 1 and n_seq_max >= 2 are required");
  if (config.n_batch < config.n_seq_max)  // llama.cpp aborts the process otherwise
    throw Error(ErrorKind::invalid_argument, "n_batch (" + std::to_string(config.n_batch) +
                                                 ") must be at least n_seq_max (" +
                                                 std::to_string(config.n_seq_max) + ")");
  const int threads = config.threads > 0
                          ? config.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  DeviceChoice devices = choose_devices(config);
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = config.n_gpu_layers;
  mp.devices = devices.model_devices.data();
  model_.reset(llama_model_load_from_file(config.model.c_str(), mp));
  if (!model_) throw Error(ErrorKind::backend, "llama.cpp cannot load text model " + config.model);
  vocab_ = llama_model_get_vocab(model_.get());
  n_vocab_ = llama_vocab_n_tokens(vocab_);
  n_embd_inp_ = llama_model_n_embd_inp(model_.get());

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(config.n_ctx);
  cp.n_batch = static_cast<uint32_t>(config.n_batch);
  cp.n_ubatch = static_cast<uint32_t>(config.n_ubatch);
  cp.n_seq_max = static_cast<uint32_t>(config.n_seq_max);
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.kv_unified = true;  // zero-copy, partial seq_cp; tokens shared by several sequences
  cp.no_perf = true;
  cp.flash_attn_type = config.flash_attn < 0    ? LLAMA_FLASH_ATTN_TYPE_AUTO
                       : config.flash_attn == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                : LLAMA_FLASH_ATTN_TYPE_ENABLED;
  ctx_.reset(llama_init_from_model(model_.get(), cp));
  if (!ctx_) throw Error(ErrorKind::backend, "llama.cpp cannot create a context for " + config.model);

  mtmd_context_params mparams = mtmd_context_params_default();
  mparams.use_gpu = devices.use_gpu;
  mparams.device = devices.mmproj_device;
  mparams.print_timings = false;
  mparams.n_threads = threads;
  mparams.media_marker = kMediaMarker;
  mparams.warmup = false;
  mtmd_.reset(mtmd_init_from_file(config.mmproj.c_str(), model_.get(), mparams));
  if (!mtmd_)
    throw Error(ErrorKind::backend, "mtmd cannot load projector " + config.mmproj + " for " + config.model);
  if (!mtmd_support_vision(mtmd_.get()))
    throw Error(ErrorKind::invalid_argument, config.mmproj + " has no vision encoder");

  try {
    template_ = resolve_chat_template(model_.get(), config.chat_template, config.model);
    has_template_ = true;
  } catch (const Error& e) {
    if (!config.chat_template.empty()) throw;
    template_error_ = e.what();  // raw prompts still work
  }
  identity_ = make_identity();
  mmproj_fingerprint_ = identity_.mmproj_sha256;
}

BackendInfo LlamaSession::info() const {
  BackendInfo info;
  info.model = config_.model;
  std::vector<char> name(256);
  if (llama_model_meta_val_str(model_.get(), "general.name", name.data(), name.size()) > 0)
    info.model_name = name.data();
  // `georank fixtures vlm` names its models so.
  info.random_weights = info.model_name.find("random-weight") != std::string::npos;
  return info;
}

JudgeIdentity LlamaSession::make_identity() const {
  const auto t0 = std::chrono::steady_clock::now();
  JudgeIdentity id;
  id.backend = "llama.cpp";
  id.model_sha256 = sha256_file(config_.model);
  id.mmproj_sha256 = sha256_file(config_.mmproj);
  const int build = llama_build_number();
  id.runtime = "llama.cpp " + std::string(llama_version()) + (build > 0 ? " b" + std::to_string(build) : "");
  if (has_template_) {
    // A built-in is known by name only: its rendering of a probe conversation stands for its
    // text, so that a llama.cpp whose built-in changed gives another identity.
    const std::string probe = apply_chat_template(
        template_, {{"system", "S1"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}});
    const std::string material = template_.tmpl + "\n--- probe ---\n" + probe;
    id.chat_template = template_.name;
    id.chat_template_sha256 =
        sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(material.data()), material.size()));
  } else {
    id.chat_template = "none";
  }
  id.image_preprocessing = "rgb8 -> mtmd (the projector's own resize and normalisation)";
  id.flash_attn = config_.flash_attn;
  id.n_ctx = n_ctx();
  id.n_batch = config_.n_batch;
  id.n_ubatch = config_.n_ubatch;
  log_debug("llama.cpp: hashed the model files in {:.2f} s",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return id;
}

PreparedRequest LlamaSession::prepare(const VlmRequest& request, int index) {
  const std::string where = "request " + std::to_string(index);
  PreparedRequest p;
  p.request = &request;
  const std::string prompt = prompt_text(request, where, p.template_name);
  tokenize_prompt(p, prompt, where);
  collect_units(p, where);
  const std::size_t last_marker = prompt.rfind(kMediaMarker);
  p.last_text = last_marker == std::string::npos
                    ? prompt
                    : prompt.substr(last_marker + std::string(kMediaMarker).size());
  if (p.decodes()) check_scoring_basis(p, where);
  return p;
}

std::string LlamaSession::prompt_text(const VlmRequest& request, const std::string& where,
                                      std::string& template_name) const {
  std::string prompt;
  if (request.raw_prompt) {
    prompt = *request.raw_prompt;
    template_name = "raw";
  } else {
    if (!has_template_) throw Error(ErrorKind::invalid_argument, template_error_);
    if (request.messages.empty())
      throw Error(ErrorKind::invalid_argument, where + " has no messages and no raw prompt");
    prompt = apply_chat_template(template_, request.messages);
    template_name = template_.name;
  }
  prompt += request.assistant_prefill;
  if (!request.choices.empty() && request.generation.max_tokens <= 0) trim_answer_basis(prompt);
  return prompt;
}

void LlamaSession::tokenize_prompt(PreparedRequest& p, const std::string& prompt, const std::string& where) {
  std::vector<mtmd::bitmap> bitmaps;
  std::vector<const mtmd_bitmap*> bitmap_ptrs;
  for (const auto& img : p.request->images) {
    if (!img || img->width <= 0 || img->height <= 0 ||
        img->rgb.size() != static_cast<std::size_t>(img->width) * img->height * 3)
      throw Error(ErrorKind::invalid_argument, where + " has an empty or inconsistent image");
    bitmaps.emplace_back(static_cast<uint32_t>(img->width), static_cast<uint32_t>(img->height),
                         img->rgb.data());
    std::string id = img->id;
    if (id.empty()) {
      Image copy = *img;
      copy.finalize();
      id = copy.id;
    }
    bitmaps.back().set_id(id.c_str());
    bitmap_ptrs.push_back(bitmaps.back().ptr.get());
  }
  p.chunks.reset(mtmd_input_chunks_init());
  const mtmd_input_text text{prompt.c_str(), prompt.size(), true, true};
  int32_t rc = 0;
  try {
    rc = mtmd_tokenize(mtmd_.get(), p.chunks.get(), &text, bitmap_ptrs.data(), bitmap_ptrs.size());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::invalid_argument,
                where + ": prompt cannot be represented by the vocabulary (" + e.what() + ")");
  }
  if (rc != 0) {
    std::size_t markers = 0;
    for (std::size_t pos = 0; (pos = prompt.find(kMediaMarker, pos)) != std::string::npos; pos += 1)
      ++markers;
    throw Error(ErrorKind::invalid_argument, where + ": mtmd_tokenize failed (" + std::to_string(rc) +
                                                 "); the prompt has " + std::to_string(markers) +
                                                 " media markers and " + std::to_string(bitmaps.size()) +
                                                 " images");
  }
}

void LlamaSession::collect_units(PreparedRequest& p, const std::string& where) const {
  const std::size_t n_chunks = mtmd_input_chunks_size(p.chunks.get());
  for (std::size_t i = 0; i < n_chunks; ++i) {
    const mtmd_input_chunk* chunk = mtmd_input_chunks_get(p.chunks.get(), i);
    if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
      std::size_t n = 0;
      const llama_token* toks = mtmd_input_chunk_get_tokens_text(chunk, &n);
      for (std::size_t k = 0; k < n; ++k) p.units.push_back({false, toks[k], nullptr, {}, 1});
      if (i + 1 == n_chunks) {
        p.last_text_tokens.assign(toks, toks + n);
        p.last_is_first_chunk = i == 0;
      }
    } else if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_IMAGE) {
      const int n = static_cast<int>(mtmd_input_chunk_get_n_tokens(chunk));
      if (mtmd_decode_use_non_causal(mtmd_.get(), chunk) && n > config_.n_ubatch)
        throw Error(ErrorKind::invalid_argument, where + ": an image of " + std::to_string(n) +
                                                     " tokens needs n_ubatch >= " + std::to_string(n) +
                                                     " (this model attends non-causally within images)");
      p.units.push_back({true, 0, chunk, mmproj_fingerprint_ + ":" + mtmd_input_chunk_get_id(chunk), n});
      p.n_image_tokens += n;
    } else {
      throw Error(ErrorKind::invalid_argument, where + ": only image media are supported");
    }
    p.n_prompt_tokens += static_cast<int>(mtmd_input_chunk_get_n_tokens(chunk));
  }
}

void LlamaSession::check_scoring_basis(PreparedRequest& p, const std::string& where) const {
  const auto own = tokenize(vocab_, p.last_text, p.last_is_first_chunk, true, where + " prompt");
  if (p.units.empty() || p.units.back().is_image || own.empty())
    throw Error(ErrorKind::invalid_argument,
                where + ": the prompt must end with text (no logits after an image)");
  // The scoring diff tokenises the last text alone; it must agree with the tail of mtmd's last
  // chunk. The chunk may start with the image's closing tokens (Qwen-VL's <|vision_end|>,
  // Gemma 3's <end_of_image>), which mtmd inserts and which belong to no text of ours: only the
  // text's own tokens stay the basis (they are consecutive positions, so the basis still starts
  // at the position the group computes from its length).
  const auto& chunk = p.last_text_tokens;
  if (own.size() > chunk.size() ||
      !std::equal(own.begin(), own.end(), chunk.end() - static_cast<long>(own.size())))
    throw Error(ErrorKind::backend,
                where + ": tokenising the prompt's last text alone differs from mtmd's chunk");
  p.last_text_tokens.erase(p.last_text_tokens.begin(),
                           p.last_text_tokens.end() - static_cast<long>(own.size()));
  for (const auto& c : p.request->choices) {
    if (c.find_first_not_of(" \t\n") == std::string::npos)
      throw Error(ErrorKind::invalid_argument, where + ": empty choice");
    tokenize(vocab_, c, false, false, "choice '" + c + "'");
  }
}

std::vector<float> LlamaSession::image_embedding(const mtmd_input_chunk* chunk, const std::string& key,
                                                 double& encode_ms) {
  if (config_.cache_images)
    if (auto hit = cache_.find(key)) return *hit;
  const auto t0 = std::chrono::steady_clock::now();
  if (mtmd_encode_chunk(mtmd_.get(), chunk) != 0) throw Error(ErrorKind::backend, "mtmd_encode_chunk failed");
  const float* out = mtmd_get_output_embd(mtmd_.get());
  // the output buffer is overwritten by the next encode: copy it
  std::vector<float> embd(out,
                          out + static_cast<std::size_t>(n_embd_inp_) * mtmd_input_chunk_get_n_tokens(chunk));
  encode_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (config_.cache_images) cache_.put(key, std::make_shared<const std::vector<float>>(embd));
  return embd;
}

}  // namespace georank::vlm
