#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "checked_number.hpp"
#include "commands.hpp"
#include "georank/fixtures/vlm_fixture.hpp"

namespace georank::cli {

void add_fixtures_vlm(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "vlm", "Write a random-weight LLaVA-style pair (text.gguf + mmproj.gguf); its outputs mean nothing");
  static std::string out_dir;
  static std::uint64_t seed = 0;
  static std::string shape = "tiny";
  cmd->add_option("--out", out_dir, "Output folder (created if missing)")->required();
  cmd->add_option("--seed", seed, "Random seed; the same seed gives identical files")
      ->check(fits_64_bits(false))
      ->capture_default_str();
  cmd->add_option("--shape", shape, "tiny (tests) or bench (~135M text model + ViT-B/16-like tower)")
      ->check(CLI::IsMember({"tiny", "bench"}))
      ->capture_default_str();
  cmd->callback([] {
    const VlmFixtureFiles files = write_vlm_fixture(out_dir, seed, parse_vlm_fixture_shape(shape));
    fmt::print(
        "text model  {}\nmmproj      {}\nnote        random weights (seed {}, shape {}): outputs mean "
        "nothing\n",
        files.text_model, files.mmproj, seed, shape);
  });
}

}  // namespace georank::cli
