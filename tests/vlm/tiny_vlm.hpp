#pragma once
// Shared helpers of the VLM tests: the tiny random-weight model pair (a shared fixture, made
// once per test run) and deterministic random images.

#include <cstdint>
#include <memory>
#include <string>

#include "georank/data/image.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank::testing {

/// text.gguf + mmproj.gguf of the tiny fixture (seed 7), shared by every test process.
inline const VlmFixtureFiles& tiny_vlm() {
  static const VlmFixtureFiles files = [] {
    const std::string dir =
        test::shared_fixture("vlm-tiny-7", [](const std::string& tmp) { write_vlm_fixture(tmp, 7); });
    return VlmFixtureFiles{dir + "/text.gguf", dir + "/mmproj.gguf"};
  }();
  return files;
}

/// A width x height image of uniform noise, its id set.
inline std::shared_ptr<const Image> noise_image(int width, int height, std::uint32_t seed) {
  auto img = std::make_shared<Image>();
  img->width = width;
  img->height = height;
  img->rgb.resize(static_cast<std::size_t>(width) * height * 3);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& v : img->rgb) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::uint8_t>(x >> 24);
  }
  img->finalize();
  return img;
}

}  // namespace georank::testing
