#pragma once
// The tiny ConvNeXt encoder fixture (src/fixtures/make_encoder.py).

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "georank/core/sha256.hpp"
#include "georank/data/image.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Folder holding the fixture (encoder.onnx + card, separate.card.json, checkpoint.pth,
/// images/, reference.json). Generated on first use with GEORANK_PYTHON; the folder name
/// carries a hash of the generator scripts, so editing them makes a fresh fixture.
inline std::string encoder_fixture_dir() {
  const std::string src = GEORANK_SOURCE_DIR;
  const std::string script = src + "/src/fixtures/make_encoder.py";
  const std::string material = read_text(script) + read_text(src + "/scripts/encoder_export.py");
  const std::string hash =
      sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(material.data()), material.size()))
          .substr(0, 16);
  return shared_fixture("encoder-fixture-" + hash, [&](const std::string& tmp) {
    const auto r = run_command(std::string(GEORANK_PYTHON) + " " + shell_quote(script) + " --out " +
                               shell_quote(tmp) + " --seed 7");
    if (r.exit_code != 0) throw std::runtime_error("make_encoder.py failed: " + r.err);
  });
}

struct ReferenceImage {
  std::string path;
  int width = 0;
  int height = 0;
  std::vector<float> embedding;
};

/// PyTorch's embeddings of the fixture images, per view ("ground" / "aerial").
inline std::vector<ReferenceImage> reference_images(const std::string& dir, const std::string& view) {
  const auto j = nlohmann::json::parse(read_text(dir + "/reference.json"));
  std::vector<ReferenceImage> out;
  for (const auto& e : j.at(view)) {
    out.push_back({dir + "/" + e.at("image").get<std::string>(), e.at("width").get<int>(),
                   e.at("height").get<int>(), e.at("embedding").get<std::vector<float>>()});
  }
  return out;
}

}  // namespace georank::test
