#include "georank/data/image.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/core/sha256.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

Image gradient(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      auto* p = &img.rgb[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((x + y) % 256);
    }
  img.finalize();
  return img;
}

TEST(Image, PngRoundTripKeepsPixelsAndId) {
  const Image img = gradient(17, 9);
  const auto png = encode_png(img);
  const Image back = decode_image(png, "mem.png");
  EXPECT_EQ(back.width, 17);
  EXPECT_EQ(back.height, 9);
  EXPECT_EQ(back.rgb, img.rgb);
  EXPECT_EQ(back.id, img.id);
  EXPECT_EQ(back.id.size(), 64u);
}

TEST(Image, IdChangesWithPixelsAndWithShape) {
  Image a = gradient(4, 6);
  Image b = a;
  b.rgb[5] ^= 1;
  b.finalize();
  EXPECT_NE(a.id, b.id);
  Image c = a;
  std::swap(c.width, c.height);
  c.finalize();
  EXPECT_NE(a.id, c.id);
}

TEST(Image, TruncatedFileIsRejectedWithItsName) {
  const auto dir = test::fresh_work_dir("image_truncated");
  const std::string path = dir + "/broken.png";
  auto png = encode_png(gradient(32, 32));
  png.resize(png.size() / 2);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<long>(png.size()));
  try {
    load_image(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
}

TEST(Image, MissingFileIsNotFound) {
  try {
    load_image("/nonexistent/dir/x.jpg");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

TEST(Image, PixelLimitStopsLargeImagesBeforeDecoding) {
  const auto png = encode_png(gradient(100, 100));
  EXPECT_THROW(decode_image(png, "big.png", ImageLimits{.max_pixels = 9999}), Error);
  EXPECT_NO_THROW(decode_image(png, "big.png", ImageLimits{.max_pixels = 10000}));
}

TEST(Image, BilinearResizeOfAConstantImageIsConstant) {
  Image img = gradient(8, 8);
  std::fill(img.rgb.begin(), img.rgb.end(), 77);
  for (auto f : {ResizeFilter::bilinear, ResizeFilter::area}) {
    const Image r = resize(img, 5, 3, f);
    EXPECT_EQ(r.width, 5);
    EXPECT_EQ(r.height, 3);
    for (auto v : r.rgb) EXPECT_EQ(v, 77);
  }
}

TEST(Image, AreaDownscaleByTwoAveragesBlocks) {
  Image img;
  img.width = 2;
  img.height = 2;
  img.rgb = {0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100};
  const Image r = resize(img, 1, 1, ResizeFilter::area);
  EXPECT_EQ(r.rgb[0], 100);
}

TEST(Image, BilinearUpscaleInterpolatesBetweenNeighbours) {
  Image img;
  img.width = 2;
  img.height = 1;
  img.rgb = {0, 0, 0, 200, 200, 200};
  // Half-pixel centres: output x=1 of 4 maps to source 0.25 -> 50.
  const Image r = resize(img, 4, 1);
  EXPECT_EQ(r.rgb[0], 0);
  EXPECT_EQ(r.rgb[3], 50);
  EXPECT_EQ(r.rgb[6], 150);
  EXPECT_EQ(r.rgb[9], 200);
}

}  // namespace
}  // namespace georank

namespace georank {
namespace {

ErrorKind load_error(const std::string& path, std::string& message) {
  try {
    (void)load_image(path);
  } catch (const Error& e) {
    message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << path << " loaded";
  return ErrorKind::backend;
}

TEST(ImageFiles, AFolderALinkLoopAndAMissingFileAreToldApart) {
  const auto dir = test::fresh_work_dir("image_paths");
  std::filesystem::create_symlink(dir + "/loop-b", dir + "/loop-a");
  std::filesystem::create_symlink(dir + "/loop-a", dir + "/loop-b");
  std::string message;
  EXPECT_EQ(load_error(dir, message), ErrorKind::invalid_argument);
  EXPECT_NE(message.find("is a folder"), std::string::npos) << message;
  EXPECT_EQ(load_error(dir + "/loop-a", message), ErrorKind::io);
  EXPECT_NE(message.find("loop of symbolic links"), std::string::npos) << message;
  EXPECT_EQ(load_error(dir + "/missing.png", message), ErrorKind::not_found);
}

TEST(ImageFiles, AnImageDeclaringTooManyPixelsIsNamedAsSuch) {
  // A PNG whose header claims 20000 x 20000 (the rest is missing): stb cannot even describe it.
  auto png = encode_png(gradient(4, 4));
  const std::uint8_t dims[8] = {0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20};
  std::copy(dims, dims + 8, png.begin() + 16);
  png.resize(40);
  try {
    (void)decode_image(png, "huge.png");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("huge.png: 20000x20000 exceeds the pixel limit"), std::string::npos)
        << e.what();
  }
  // Sides near 2^32 (PNG allows them): their product does not fit in 64 bits.
  const std::uint8_t near_max[8] = {0xEB, 0xEB, 0xEB, 0xEB, 0xEB, 0xEB, 0xEB, 0xEB};
  std::copy(near_max, near_max + 8, png.begin() + 16);
  try {
    (void)decode_image(png, "huger.png");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huger.png: 3958107115x3958107115 exceeds the pixel limit"),
              std::string::npos)
        << e.what();
  }
  // A JPEG's frame header likewise (SOF0 at 20000 x 20000).
  const auto dir = test::fresh_work_dir("image_huge_jpeg");
  write_jpeg(gradient(8, 8), dir + "/small.jpg");
  std::ifstream in(dir + "/small.jpg", std::ios::binary);
  std::vector<std::uint8_t> jpeg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = 0x4E, jpeg[i + 6] = 0x20, jpeg[i + 7] = 0x4E, jpeg[i + 8] = 0x20;
      break;
    }
  try {
    (void)decode_image(jpeg, "huge.jpg");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("20000x20000 exceeds the pixel limit"), std::string::npos)
        << e.what();
  }
}

TEST(ImageFiles, AJpegHuffmanTableDeclaringMoreThan256CodesIsRefusedBeforeDecoding) {
  // stb_image 2.27 writes one code length per declared code into a 257-entry array.
  const auto dir = test::fresh_work_dir("image_bad_dht");
  write_jpeg(gradient(8, 8), dir + "/small.jpg");
  std::ifstream in(dir + "/small.jpg", std::ios::binary);
  std::vector<std::uint8_t> jpeg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  bool found = false;
  for (std::size_t i = 2; i + 21 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC4) {
      for (std::size_t k = 0; k < 16; ++k) jpeg[i + 5 + k] = 0xFF;  // 16 x 255 codes
      found = true;
      break;
    }
  ASSERT_TRUE(found) << "the encoder wrote no DHT segment";
  try {
    (void)decode_image(jpeg, "dht.jpg");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("dht.jpg: corrupt JPEG (Huffman table (DHT) declares 4080 codes"),
              std::string::npos)
        << e.what();
  }
}

TEST(ImageFiles, AHuffmanTableBetweenTheScansOfAProgressiveJpegIsCheckedToo) {
  // Found by fuzzing: a progressive JPEG whose fifth DHT segment, after two scans, declares 267.
  const std::string path =
      std::string(GEORANK_SOURCE_DIR) + "/tests/fuzz/corpus/image_fuzz/progressive_dht_after_scan.jpg";
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> jpeg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_GT(jpeg.size(), 1000u) << path;
  try {
    (void)decode_image(jpeg, "progressive.jpg");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("declares 267 codes"), std::string::npos) << e.what();
  }
}

TEST(ImageFiles, FormatsOtherThanPngAndJpegAreRefused) {
  // A valid 1x1 24-bit BMP: stb could decode it, but georank builds only its PNG and JPEG decoders.
  const std::uint8_t bmp[] = {'B', 'M', 58, 0, 0, 0, 0, 0, 0,  0, 54, 0, 0, 0, 40, 0, 0,   0, 1, 0,
                              0,   0,   1,  0, 0, 0, 1, 0, 24, 0, 0,  0, 0, 0, 4,  0, 0,   0, 0, 0,
                              0,   0,   0,  0, 0, 0, 0, 0, 0,  0, 0,  0, 0, 0, 0,  0, 255, 0};
  try {
    (void)decode_image(std::vector<std::uint8_t>(std::begin(bmp), std::end(bmp)), "x.bmp");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.bmp: not a decodable image"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace georank
