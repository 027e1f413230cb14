#include "georank/retrieval/embedding_cache.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

struct CacheFiles {
  std::string dir = test::fresh_work_dir("embedding-cache");
  std::string db = dir + "/cache.sqlite";
  std::string a = dir + "/a.png";
  std::string b = dir + "/b.png";
  CacheFiles() {
    std::ofstream(a) << "aaaa";
    std::ofstream(b) << "bbbbbb";
  }
};

TEST(EmbeddingCache, FindsStoredRowsByFingerprintViewAndFile) {
  CacheFiles f;
  const std::vector<ImageFileKey> keys{image_file_key(f.a), image_file_key(f.b)};
  const std::vector<float> rows{1, 2, 3, 4, 5, 6};
  {
    EmbeddingCache cache(f.db, "model-1");
    cache.put(View::aerial, keys, rows, 3);
    EXPECT_EQ(cache.count(View::aerial), 2u);
    EXPECT_EQ(cache.count(View::ground), 0u);
  }
  EmbeddingCache reopened(f.db, "model-1");  // persisted
  EXPECT_THAT(reopened.find(View::aerial, keys[1]).value(), ::testing::ElementsAre(4, 5, 6));
  EXPECT_THAT(reopened.find(View::aerial, keys[0]).value(), ::testing::ElementsAre(1, 2, 3));
  EXPECT_FALSE(reopened.find(View::ground, keys[0]).has_value());                         // other branch
  EXPECT_FALSE(EmbeddingCache(f.db, "model-2").find(View::aerial, keys[0]).has_value());  // other model
}

TEST(EmbeddingCache, ChangedFileIsAMissAndIsReplacedOnPut) {
  CacheFiles f;
  EmbeddingCache cache(f.db, "m");
  const ImageFileKey old_key = image_file_key(f.a);
  cache.put(View::ground, std::vector{old_key}, std::vector<float>{1, 1}, 2);

  fs::last_write_time(f.a, fs::last_write_time(f.a) + std::chrono::seconds(5));
  const ImageFileKey touched = image_file_key(f.a);
  EXPECT_EQ(touched.size, old_key.size);
  EXPECT_FALSE(cache.find(View::ground, touched).has_value());

  std::ofstream(f.a) << "longer content";
  const ImageFileKey rewritten = image_file_key(f.a);
  EXPECT_NE(rewritten.size, old_key.size);
  EXPECT_FALSE(cache.find(View::ground, rewritten).has_value());

  cache.put(View::ground, std::vector{rewritten}, std::vector<float>{7, 8}, 2);
  EXPECT_THAT(cache.find(View::ground, rewritten).value(), ::testing::ElementsAre(7, 8));
  EXPECT_EQ(cache.count(View::ground), 1u);  // replaced, not added
}

TEST(EmbeddingCache, KeysUseAbsolutePathsAndMissingFilesAreNotFound) {
  CacheFiles f;
  const auto cwd = fs::current_path();
  fs::current_path(f.dir);
  const ImageFileKey relative = image_file_key("a.png");
  fs::current_path(cwd);
  EXPECT_EQ(relative.path, image_file_key(f.a).path);
  EXPECT_EQ(relative.size, 4);
  try {
    image_file_key(f.dir + "/missing.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("missing.png"));
  }
}

TEST(EmbeddingCache, RejectsARowCountThatDoesNotMatchTheKeys) {
  CacheFiles f;
  EmbeddingCache cache(f.db, "m");
  EXPECT_THROW(cache.put(View::ground, std::vector{image_file_key(f.a)}, std::vector<float>{1, 2, 3}, 2),
               Error);
  EXPECT_EQ(cache.count(View::ground), 0u);
}

}  // namespace
}  // namespace georank
