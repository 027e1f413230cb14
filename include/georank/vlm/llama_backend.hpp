#pragma once
/// The in-process VLM judge: llama.cpp + mtmd with an image-embedding cache, prefix-shared
/// KV across a batch, closed-set scoring without sampling, and optional generation.

#include <cstddef>
#include <memory>
#include <string>

#include "georank/core/config.hpp"
#include "georank/core/error.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

struct LlamaConfig {
  std::string model;   ///< text model GGUF (llama.cpp's --model)
  std::string mmproj;  ///< multimodal projector GGUF (llama.cpp's --mmproj)
  /// Empty: the model's own `tokenizer.chat_template` (an error if it has none or llama.cpp
  /// does not recognise it). Otherwise a llama.cpp built-in template name ("vicuna",
  /// "chatml", "gemma", "smolvlm", ...). Raw prompts never use a template.
  std::string chat_template;
  int n_ctx = 8192;      ///< KV cells shared by all sequences of a batch (unified KV)
  int n_batch = 2048;    ///< tokens per llama_decode call
  int n_ubatch = 512;    ///< physical micro-batch; must hold the largest image's tokens
  int n_seq_max = 64;    ///< parallel sequences (prefix-tree leaves + teacher-forcing forks)
  int threads = 0;       ///< CPU threads for decode and image encode; 0: hardware threads
  int n_gpu_layers = 0;  ///< text-model layers offloaded to the GPU; -1: all. 0 and no device: CPU only
  /// A ggml device by name ("Vulkan0"; `georank doctor` lists them) for the text model's
  /// offloaded layers and the projector; empty: every GPU ggml found (when n_gpu_layers != 0).
  /// Asking for a GPU where ggml has none is Error(backend) naming the devices it has.
  std::string device;
  /// Flash attention (llama.cpp's -fa): -1 auto, 0 off, 1 on. On CPU it skips the KV cells of
  /// other sequences (cheaper prefix trees) but its kernels pick f16-accumulating or tiled
  /// paths by batch shape, so log-probabilities vary by ~1e-3 with how requests are batched;
  /// with it off, batching changes them by ~1e-6.
  int flash_attn = -1;
  std::size_t image_cache_bytes = 256u << 20;  ///< bound of the image-embedding cache
  /// Evaluation strategy switches (the defaults are the fast path; turning them off gives the
  /// from-scratch reference the benchmark and tests compare against; results are the same):
  bool cache_images = true;    ///< encode each distinct image once per backend
  bool share_prefixes = true;  ///< decode common request prefixes once (prefix tree)

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("model", c.model, "Text model GGUF");
    v("mmproj", c.mmproj, "Multimodal projector GGUF");
    v("chat_template", c.chat_template, "llama.cpp built-in chat template (default: the model's)");
    v("n_ctx", c.n_ctx, "KV cells shared by a batch");
    v("n_batch", c.n_batch, "Tokens per llama_decode call");
    v("n_ubatch", c.n_ubatch, "Physical micro-batch (must hold the largest image's tokens)");
    v("n_seq_max", c.n_seq_max, "Parallel sequences of a batch");
    v("threads", c.threads, "CPU threads (0: all)");
    v("n_gpu_layers", c.n_gpu_layers, "Text-model layers offloaded to the GPU (-1: all; 0: CPU only)");
    v("device", c.device,
      "ggml device for the offloaded layers and the projector (georank doctor lists them)");
    v("flash_attn", c.flash_attn, "Flash attention: -1 auto, 0 off, 1 on");
    v("image_cache_bytes", c.image_cache_bytes, "Bound of the image-embedding cache in bytes");
    v("cache_images", c.cache_images, "Encode each distinct image once");
    v("share_prefixes", c.share_prefixes, "Decode common request prefixes once (prefix tree)");
  }
};

/// A request that needs more KV cells than `LlamaConfig::n_ctx` (`--ctx-size` on the command
/// line). An Error(invalid_argument) of its own type, so that a caller that falls back on
/// other invalid requests (an answer set the vocabulary cannot score) does not fall back on it.
class ContextTooSmall : public Error {
 public:
  explicit ContextTooSmall(const std::string& message) : Error(ErrorKind::invalid_argument, message) {}
};

/// Loads the model pair and returns the in-process judge. Throws Error(not_found) for missing
/// files, Error(invalid_argument) for an unusable template name, Error(backend) when llama.cpp
/// or mtmd cannot load the files.
///
/// Closed-set scoring: for each choice c the variants c and " c" (c trimmed) are tokenised
/// as a continuation of the prompt's last text (tokenise last text + variant and diff against
/// the last text alone), multi-token variants are teacher-forced, and the probabilities of the
/// variants are summed. A choice with no representable variant is Error(invalid_argument).
/// Every prompt that scores must end with text. A request longer than the context is
/// ContextTooSmall. A request with neither choices nor generation
/// is only tokenised (n_prompt_tokens filled, nothing decoded).
///
/// `VlmResponse::n_decoded_tokens`: every decoded token (text, image, generated, forced) is
/// counted once, for one of the requests that share it, so the sum over a batch is the
/// batch's decode work. Timings of shared work are split evenly over the requests sharing it.
///
/// Thread-safety: a backend owns one llama_context and one mtmd_context and must be used by
/// one thread at a time; parallel workers each create their own backend. Do not run several
/// CPU backends on the same cores (ggml uses OpenMP).
std::unique_ptr<VlmBackend> make_llama_backend(const LlamaConfig& config);

}  // namespace georank
