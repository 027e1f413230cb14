#pragma once
/// Random-weight LLaVA-style VLM pairs (text.gguf + mmproj.gguf) for tests and benchmarks.
/// Their outputs mean nothing: they exercise loading, tokenisation and inference costs only.

#include <cstdint>
#include <string>

namespace georank {

enum class VlmFixtureShape {
  tiny,   ///< 64-wide 2-layer text model, 32 px / patch 8 vision tower (16 image tokens)
  bench,  ///< ~135M-parameter text model (576 wide, 30 layers, 9/3 heads, ffn 1536) and a
          ///< ViT-B/16-like tower at 224 px (768 wide, 12 blocks, ffn 3072, 196 image tokens)
};

struct VlmFixtureFiles {
  std::string text_model;  ///< path of text.gguf
  std::string mmproj;      ///< path of mmproj.gguf
};

/// The chat template stored in the fixture's text model (`tokenizer.chat_template`): a
/// vicuna-style `USER: ... ASSISTANT:` template that llama_chat_apply_template recognises.
extern const char* const kVlmFixtureChatTemplate;

/// Writes `text.gguf` (architecture "llama", SPM "llama" vocabulary with pieces for "A".."E",
/// "Yes", "No", the digits and the template's words; ASCII byte fallback only, so non-ASCII
/// text cannot be represented) and `mmproj.gguf` (CLIP vision tower with the "mlp" projector)
/// into `out_dir` (created if missing). Weights are uniform random with small fan-in-scaled
/// magnitudes, f32 for `tiny` and f16 matrices for `bench`; the files are byte-identical for
/// the same (seed, shape). Files are written to a temporary name and renamed. Throws
/// Error(io) when a file cannot be written.
VlmFixtureFiles write_vlm_fixture(const std::string& out_dir, std::uint64_t seed = 0,
                                  VlmFixtureShape shape = VlmFixtureShape::tiny);

/// Parses "tiny" / "bench"; throws Error(invalid_argument) otherwise.
VlmFixtureShape parse_vlm_fixture_shape(const std::string& name);

}  // namespace georank
