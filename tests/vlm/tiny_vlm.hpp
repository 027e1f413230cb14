#pragma once
// Shared helpers of the VLM tests: the tiny random-weight model pair (generated once per test
// process) and deterministic random images.

#include <cstdint>
#include <memory>
#include <string>

#include "georank/image.hpp"
#include "georank/vlm_fixture.hpp"

namespace georank::testing {

/// text.gguf + mmproj.gguf of the tiny fixture (seed 7) under the test work folder.
inline const VlmFixtureFiles& tiny_vlm() {
  static const VlmFixtureFiles files =
      write_vlm_fixture(std::string(GEORANK_TEST_WORK_DIR) + "/vlm-tiny-7", 7);
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
