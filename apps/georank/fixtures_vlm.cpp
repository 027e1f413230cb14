#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "checked_number.hpp"
#include "commands.hpp"
#include "georank/fixtures/vlm_fixture.hpp"

namespace georank::cli {

void add_fixtures_vlm(CLI::App& parent) {
  auto* cmd =
      parent.add_subcommand("vlm",
                            "Write a random-weight LLaVA-, Qwen2-VL- or Gemma-3-style pair (text.gguf + "
                            "mmproj.gguf); its outputs mean nothing");
  static std::string out_dir;
  static std::uint64_t seed = 0;
  static std::string shape = "tiny";
  static std::string type = "native";
  static std::string arch = "llava";
  cmd->add_option("--out", out_dir, "Output folder (created if missing)")->required();
  cmd->add_option("--seed", seed, "Random seed; the same seed gives identical files")
      ->check(fits_64_bits(false))
      ->capture_default_str();
  cmd->add_option("--shape", shape,
                  "tiny (tests), bench (~135M text model + ViT-B/16-like tower) or llava7b (LLaVA-1.5-7B "
                  "shape: 4096 wide, 32 layers, ViT-L/14 at 336 px, 576 image tokens; ~4 GB at q4_k)")
      ->check(CLI::IsMember({"tiny", "bench", "llava7b"}))
      ->capture_default_str();
  cmd->add_option("--type", type,
                  "Text-model weight type: native (f32 tiny, f16 bench, q4_k llava7b), f16, q8_0 or q4_k "
                  "(rows not a multiple of the block fall back to q8_0, then f16)")
      ->check(CLI::IsMember({"native", "f16", "q8_0", "q4_k"}))
      ->capture_default_str();
  cmd->add_option("--arch", arch,
                  "Model family: llava (llama text model, SPM vocabulary, vicuna template, CLIP + mlp "
                  "projector: a fixed number of image tokens) or qwen2vl (qwen2vl text model with M-RoPE, "
                  "byte-level BPE vocabulary, ChatML template, qwen2vl_merger projector: image tokens "
                  "depend on the image size) or gemma3 (gemma3 text model with sliding-window layers, SPM "
                  "vocabulary, Gemma template, SigLIP + gemma3 projector: a fixed number of image tokens "
                  "attended non-causally)")
      ->check(CLI::IsMember({"llava", "qwen2vl", "gemma3"}))
      ->capture_default_str();
  cmd->callback([] {
    const VlmFixtureFiles files =
        write_vlm_fixture(out_dir, seed, parse_vlm_fixture_shape(shape), parse_vlm_fixture_type(type),
                          parse_vlm_fixture_arch(arch));
    fmt::print(
        "text model  {} (matrices: {})\nmmproj      {}\nnote        random weights (seed {}, shape {}, "
        "type {}, arch {}): outputs mean nothing\n",
        files.text_model, files.text_types, files.mmproj, seed, shape, type, arch);
  });
}

}  // namespace georank::cli
