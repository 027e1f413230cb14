// EXIF orientation: a phone photo stored sideways with an Orientation tag decodes upright.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "data/exif.hpp"
#include "georank/data/image.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

// 32x16, four flat quadrants: red top-left, green top-right, blue bottom-left, white
// bottom-right; any turn or mirror moves them.
Image quadrants() {
  Image im;
  im.width = 32;
  im.height = 16;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 32; ++x) {
      const bool right = x >= 16, bottom = y >= 8;
      const std::uint8_t rgb[3] = {static_cast<std::uint8_t>(!bottom && !right ? 255
                                                             : bottom && right ? 255
                                                                               : 0),
                                   static_cast<std::uint8_t>(!bottom && right  ? 255
                                                             : bottom && right ? 255
                                                                               : 0),
                                   static_cast<std::uint8_t>(bottom ? 255 : 0)};
      im.rgb.insert(im.rgb.end(), rgb, rgb + 3);
    }
  im.finalize();
  return im;
}

// The colour at (x, y), each channel rounded to 0 or 255 (JPEG is lossy).
std::vector<int> colour(const Image& im, int x, int y) {
  std::vector<int> c;
  for (int k = 0; k < 3; ++k)
    c.push_back(im.rgb[(static_cast<std::size_t>(y) * im.width + x) * 3 + k] > 127 ? 255 : 0);
  return c;
}

// A JPEG of `im` with an APP1 EXIF block (big-endian TIFF) holding Orientation = `orientation`.
std::vector<std::uint8_t> jpeg_with_orientation(const Image& im, int orientation) {
  const std::string path = test::fresh_work_dir("exif") + "/raw.jpg";
  write_jpeg(im, path, 95);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> jpeg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::vector<std::uint8_t> payload = {'E',  'x',
                                             'i',  'f',
                                             0,    0,  // EXIF header
                                             'M',  'M',
                                             0,    42,
                                             0,    0,
                                             0,    8,  // TIFF, IFD0 at 8
                                             0,    1,  // one entry
                                             0x01, 0x12,
                                             0,    3,
                                             0,    0,
                                             0,    1,  // Orientation, SHORT
                                             0,    static_cast<std::uint8_t>(orientation),
                                             0,    0,
                                             0,    0,
                                             0,    0};  // no next IFD
  std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0, static_cast<std::uint8_t>(payload.size() + 2)};
  app1.insert(app1.end(), payload.begin(), payload.end());
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

TEST(ExifOrientation, APhotoStoredSidewaysDecodesUpright) {
  const Image upright = quadrants();
  // Stored turned 90 degrees counter-clockwise, tagged 6 ("turn clockwise to view"):
  // stored(x, y) = upright(W - 1 - y, x).
  Image stored;
  stored.width = upright.height;
  stored.height = upright.width;
  for (int y = 0; y < stored.height; ++y)
    for (int x = 0; x < stored.width; ++x)
      for (int k = 0; k < 3; ++k)
        stored.rgb.push_back(
            upright.rgb[(static_cast<std::size_t>(x) * upright.width + (upright.width - 1 - y)) * 3 + k]);
  const auto jpeg = jpeg_with_orientation(stored, 6);
  EXPECT_EQ(jpeg_exif_orientation(jpeg), 6);
  const Image got = decode_image(jpeg, "sideways.jpg");
  ASSERT_EQ(got.width, 32);
  ASSERT_EQ(got.height, 16);
  for (const auto& [x, y] : {std::pair{4, 4}, {28, 4}, {4, 12}, {28, 12}})
    EXPECT_EQ(colour(got, x, y), colour(upright, x, y)) << x << "," << y;
  // Off: the stored pixels as they are.
  ImageLimits raw;
  raw.apply_exif_orientation = false;
  const Image as_stored = decode_image(jpeg, "sideways.jpg", raw);
  EXPECT_EQ(as_stored.width, 16);
  EXPECT_EQ(as_stored.height, 32);
}

TEST(ExifOrientation, EveryOrientationMovesTheQuadrantsAsTheTagSays) {
  const Image up = quadrants();
  const auto red = colour(up, 4, 4), green = colour(up, 28, 4), blue = colour(up, 4, 12),
             white = colour(up, 28, 12);
  // Top-left corner after decoding a file with this tag whose stored pixels are `up`.
  const std::vector<std::vector<int>> top_left = {red, green, white, blue, red, blue, white, green};
  for (int o = 1; o <= 8; ++o) {
    const Image got = decode_image(jpeg_with_orientation(up, o), "tagged.jpg");
    EXPECT_EQ(got.width, o >= 5 ? 16 : 32) << o;
    EXPECT_EQ(colour(got, 2, 2), top_left[static_cast<std::size_t>(o - 1)]) << "orientation " << o;
  }
}

TEST(ExifOrientation, MalformedOrTruncatedBlocksAreReadAsUpright) {
  auto jpeg = jpeg_with_orientation(quadrants(), 6);
  for (std::size_t cut : {3u, 8u, 20u, 30u, 37u}) {  // the EXIF segment ends at byte 38
    std::vector<std::uint8_t> truncated(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(jpeg_exif_orientation(truncated), 1) << cut;
  }
  auto bad_ifd = jpeg;
  bad_ifd[2 + 4 + 6 + 7] = 0xF0;  // IFD0 offset far past the block
  EXPECT_EQ(jpeg_exif_orientation(bad_ifd), 1);
  const std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
  EXPECT_EQ(jpeg_exif_orientation(png), 1);
}

}  // namespace
}  // namespace georank
