#pragma once
// Tiny images of known bytes for tests whose judges only look at the image id.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "georank/data/image.hpp"

namespace georank::test {

/// A width x height RGB image of these bytes (width * height * 3 of them), its id set.
inline std::shared_ptr<const Image> image_of(int width, int height, std::vector<std::uint8_t> rgb) {
  auto img = std::make_shared<Image>();
  img->width = width;
  img->height = height;
  img->rgb = std::move(rgb);
  img->finalize();
  return img;
}

/// A 2x2 image of one value.
inline std::shared_ptr<const Image> solid(std::uint8_t value) {
  return image_of(2, 2, std::vector<std::uint8_t>(12, value));
}

}  // namespace georank::test
