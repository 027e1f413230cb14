#include "georank/retrieval/embed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "georank/core/error.hpp"
#include "retrieval/encoder_fixture.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// The fixture's aerial images copied to a scratch folder (so tests may rewrite them).
struct AerialSet {
  std::string fixture = test::encoder_fixture_dir();
  std::string dir;
  std::vector<ImageRef> items;
  explicit AerialSet(const std::string& name) : dir(test::fresh_work_dir(name)) {
    for (const auto& ref : test::reference_images(fixture, "aerial")) {
      const std::string copy = dir + "/" + fs::path(ref.path).filename().string();
      fs::copy_file(ref.path, copy);
      items.push_back({"tile-" + std::to_string(items.size()), copy});
    }
  }
};

EmbedFilesOptions with_cache(EmbeddingCache& cache) {
  EmbedFilesOptions options;
  options.cache = &cache;
  return options;
}

Encoder tiny_encoder(const std::string& fixture, int batch) {
  return Encoder(resolve_model_card(fixture + "/encoder.onnx"), {.n_threads = 1, .batch_size = batch});
}

std::vector<float> direct(const Encoder& encoder, const std::vector<ImageRef>& items) {
  std::vector<Image> images;
  for (const auto& item : items) images.push_back(load_image(item.path));
  return encoder.embed_aerial(images);
}

TEST(EmbedFiles, RowsEqualTheEncoderOnTheDecodedImagesAndComeFromTheCacheNextTime) {
  AerialSet set("embed-files-cache");
  const Encoder encoder = tiny_encoder(set.fixture, 3);
  EmbeddingCache cache(set.dir + "/cache.sqlite", encoder.fingerprint());
  std::vector<EmbedProgress> seen;
  EmbedFilesOptions options = with_cache(cache);
  options.on_progress = [&](const EmbedProgress& p) { seen.push_back(p); };

  const auto first = embed_files(encoder, View::aerial, set.items, options);
  ASSERT_TRUE(first.complete);
  EXPECT_EQ(first.matrix.rows, set.items.size());
  EXPECT_EQ(first.matrix.cols, encoder.dim());
  EXPECT_EQ(first.ids, (std::vector<std::string>{"tile-0", "tile-1", "tile-2", "tile-3"}));
  EXPECT_EQ(first.n_encoded, 4u);
  const auto expected = direct(encoder, set.items);
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(first.matrix.values[i], expected[i], 1e-6f);
  // Progress: once after the look-ups, then after each batch of 3.
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].n_done, 0u);
  EXPECT_EQ(seen[1].n_done, 3u);
  EXPECT_EQ(seen[2].n_done, 4u);
  EXPECT_EQ(seen[2].n_to_encode, 4u);

  const auto second = embed_files(encoder, View::aerial, set.items, options);
  EXPECT_EQ(second.n_cached, 4u);
  EXPECT_EQ(second.n_encoded, 0u);
  EXPECT_EQ(second.matrix.values, first.matrix.values);
}

TEST(EmbedFiles, ARewrittenImageIsEncodedAgain) {
  AerialSet set("embed-files-rewrite");
  const Encoder encoder = tiny_encoder(set.fixture, 4);
  EmbeddingCache cache(set.dir + "/cache.sqlite", encoder.fingerprint());
  (void)embed_files(encoder, View::aerial, set.items, with_cache(cache));

  // Image 1 now holds image 2's pixels (written through our PNG encoder: other bytes).
  write_png(load_image(set.items[2].path), set.items[1].path);
  const auto again = embed_files(encoder, View::aerial, set.items, with_cache(cache));
  EXPECT_EQ(again.n_encoded, 1u);
  EXPECT_EQ(again.n_cached, 3u);
  for (std::size_t k = 0; k < encoder.dim(); ++k)
    EXPECT_NEAR(again.matrix.row(1)[k], again.matrix.row(2)[k], 1e-6f);
}

TEST(EmbedFiles, StoppingKeepsFinishedBatchesInTheCache) {
  AerialSet set("embed-files-stop");
  const Encoder encoder = tiny_encoder(set.fixture, 1);
  EmbeddingCache cache(set.dir + "/cache.sqlite", encoder.fingerprint());
  std::atomic<bool> stop{false};
  // Ask to stop as soon as the first image is done, as Ctrl-C would.
  EmbedFilesOptions options = with_cache(cache);
  options.on_progress = [&](const EmbedProgress& p) { stop = stop || p.n_done >= 1; };
  options.stop = &stop;
  const auto stopped = embed_files(encoder, View::aerial, set.items, options);
  EXPECT_FALSE(stopped.complete);
  EXPECT_EQ(stopped.n_encoded, 1u);
  EXPECT_EQ(stopped.matrix.rows, 0u);
  EXPECT_EQ(cache.count(View::aerial), 1u);

  const auto resumed = embed_files(encoder, View::aerial, set.items, with_cache(cache));
  EXPECT_TRUE(resumed.complete);
  EXPECT_EQ(resumed.n_cached, 1u);
  EXPECT_EQ(resumed.n_encoded, 3u);
}

TEST(EmbedFiles, MissingOrCorruptImagesAreNamed) {
  AerialSet set("embed-files-bad");
  const Encoder encoder = tiny_encoder(set.fixture, 2);
  auto items = set.items;
  items.push_back({"gone", set.dir + "/gone.png"});
  try {
    (void)embed_files(encoder, View::aerial, items);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("gone.png"));
  }
  items.back() = {"broken", set.dir + "/broken.png"};
  std::ofstream(items.back().path) << "\x89PNG but not really";
  try {
    (void)embed_files(encoder, View::aerial, items);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("broken.png"));
  }
}

}  // namespace
}  // namespace georank
