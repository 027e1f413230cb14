#include "vlm/projector_cache.hpp"

#include <gtest/gtest.h>

namespace georank::vlm {
namespace {

std::shared_ptr<const std::vector<float>> floats(std::size_t n, float v) {
  return std::make_shared<const std::vector<float>>(n, v);
}

TEST(ProjectorCache, KeepsTheMostRecentlyUsedEntriesWithinItsByteBound) {
  ProjectorCache cache(3 * 100 * sizeof(float));
  cache.put("a", floats(100, 1));
  cache.put("b", floats(100, 2));
  cache.put("c", floats(100, 3));
  ASSERT_NE(cache.find("a"), nullptr);  // "a" becomes the most recent; "b" is now the oldest
  cache.put("d", floats(100, 4));
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(cache.find("a")->front(), 1.0f);
  EXPECT_EQ(cache.find("d")->front(), 4.0f);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 300 * sizeof(float));
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 3u);
}

TEST(ProjectorCache, NeverStoresAnEntryLargerThanTheBound) {
  ProjectorCache cache(10 * sizeof(float));
  cache.put("big", floats(11, 0));
  EXPECT_EQ(cache.find("big"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace georank::vlm
