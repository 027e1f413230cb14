#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "georank/core/error.hpp"
#include "georank/rerank/judgment_cache.hpp"
#include "support/subprocess.hpp"
#include "support/tiny_image.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

using test::solid;

// Counts the requests it answers; the answer depends on the request text and images.
class CountingBackend : public VlmBackend {
 public:
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    ++n_runs;
    std::vector<VlmResponse> out;
    for (const auto& r : requests) {
      ++n_requests;
      VlmResponse resp;
      const double x = 1.0 / (3.0 + static_cast<double>(r.images.back()->rgb[0]) +
                              static_cast<double>(r.messages[0].content.size()));
      resp.probs = {x, 1 - x};
      resp.logprobs = {std::log(x * 0.9), std::log((1 - x) * 0.9)};
      resp.covered_mass = 0.9;
      resp.text = "because " + std::to_string(n_requests);
      resp.timings.prompt_ms = 12.5;
      out.push_back(resp);
    }
    return out;
  }
  JudgeIdentity identity() const override {
    JudgeIdentity id;
    id.backend = "counting";
    id.model_sha256 = "abc";
    id.mmproj_sha256 = "def";
    return id;
  }
  std::string name() const override { return "counting"; }
  int n_runs = 0;
  int n_requests = 0;
};

VlmRequest request(std::uint8_t candidate, const std::string& text = "Which?") {
  VlmRequest r;
  r.images = {solid(0), solid(candidate)};
  r.messages = {{"user", text + " " + kMediaMarker + kMediaMarker}};
  r.choices = {"Yes", "No"};
  return r;
}

class JudgmentCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_root() + "/judgment_cache_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string db() const { return dir_ + "/judgments.sqlite"; }
  std::string dir_;
};

TEST_F(JudgmentCacheTest, ASecondRunMakesZeroBackendCallsAndReturnsIdenticalValues) {
  std::vector<VlmRequest> batch = {request(1), request(2), request(3)};
  CountingBackend inner;
  std::vector<VlmResponse> first, second;
  {
    JudgmentCache cache(db());
    CachingBackend cached(inner, cache, "prompt-hash");
    first = cached.run(batch);
    EXPECT_EQ(inner.n_requests, 3);
    EXPECT_EQ(cache.size(), 3);
  }
  {
    JudgmentCache cache(db());  // reopened: the judgments are on disk
    CachingBackend cached(inner, cache, "prompt-hash");
    second = cached.run(batch);
    EXPECT_EQ(cached.n_hits(), 3);
    EXPECT_EQ(cached.n_misses(), 0);
  }
  EXPECT_EQ(inner.n_runs, 1);
  EXPECT_EQ(inner.n_requests, 3);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(first[i].probs, second[i].probs);  // bit-identical doubles
    EXPECT_EQ(first[i].logprobs, second[i].logprobs);
    EXPECT_EQ(first[i].text, second[i].text);
    EXPECT_EQ(second[i].timings.prompt_ms, 0.0);  // nothing was computed the second time
  }
}

TEST_F(JudgmentCacheTest, OnlyMissesReachTheBackendInOneBatch) {
  CountingBackend inner;
  JudgmentCache cache(db());
  CachingBackend cached(inner, cache);
  const std::vector<VlmRequest> a = {request(1), request(2)};
  cached.run(a);
  const std::vector<VlmRequest> b = {request(2), request(3), request(1), request(4), request(3)};
  const auto got = cached.run(b);
  EXPECT_EQ(inner.n_runs, 2);
  EXPECT_EQ(inner.n_requests, 4);  // 1, 2, then 3 and 4 (3 asked once although listed twice)
  EXPECT_EQ(got[1].text, got[4].text);
  EXPECT_EQ(cache.size(), 4);
}

TEST_F(JudgmentCacheTest, EveryKeyComponentSeparatesJudgments) {
  const VlmRequest base = request(1);
  const auto key = [&](const VlmRequest& r, const std::string& judge = "j", const std::string& prompt = "p") {
    return judgment_key(judge, prompt, r).digest();
  };
  const std::string k0 = key(base);
  EXPECT_EQ(k0, key(request(1)));
  EXPECT_NE(k0, key(base, "other-judge"));
  EXPECT_NE(k0, key(base, "j", "other-prompt"));
  EXPECT_NE(k0, key(request(2)));
  VlmRequest swapped = base;
  std::swap(swapped.images[0], swapped.images[1]);
  EXPECT_NE(k0, key(swapped));  // image order matters
  VlmRequest answers = base;
  answers.choices = {"No", "Yes"};
  EXPECT_NE(k0, key(answers));
  VlmRequest gen = base;
  gen.generation.max_tokens = 32;
  EXPECT_NE(k0, key(gen));
  EXPECT_NE(k0, key(request(1, "Other text")));
}

TEST_F(JudgmentCacheTest, DatabaseIsInWalModeAndAKeyStoredTwiceKeepsItsFirstValue) {
  {
    JudgmentCache cache(db());
    JudgmentCache other(db());  // another process on the same file
    VlmResponse first, second;
    first.text = "first";
    second.text = "second";
    const JudgmentKey key = judgment_key("j", "p", request(1));
    const std::vector<std::pair<JudgmentKey, VlmResponse>> rows = {{key, first}}, again = {{key, second}};
    EXPECT_EQ(cache.store(rows).at(0).text, "first");
    // The second writer computed the same judgment meanwhile: the stored value stands, and
    // it is what the second writer answers with.
    EXPECT_EQ(other.store(again).at(0).text, "first");
    EXPECT_EQ(other.find(key)->text, "first");
    EXPECT_EQ(cache.size(), 1);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  ASSERT_EQ(
      sqlite3_prepare_v2(raw, "SELECT judge_sha256, prompt_sha256, answers FROM judgments", -1, &s, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "j");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)), "[\"Yes\",\"No\"]");
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

TEST_F(JudgmentCacheTest, TheJudgesTableHoldsTheIdentityOfEveryJudgeThatStoredJudgments) {
  CountingBackend inner;
  {
    JudgmentCache cache(db());
    CachingBackend cached(inner, cache);
    cached.run(std::vector{request(1)});
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(raw, "SELECT j.identity FROM judges j JOIN judgments r ON r.judge_sha256 = j.sha256",
                         -1, &s, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  const auto identity = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  EXPECT_EQ(identity.at("backend"), "counting");
  EXPECT_EQ(identity.at("model_sha256"), "abc");
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

TEST_F(JudgmentCacheTest, ACacheFromBeforeJudgeIdentitiesIsRefusedWithAClearError) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE judgments (key TEXT PRIMARY KEY, model_fingerprint TEXT, backend TEXT,"
                         " prompt_sha256 TEXT, image_ids TEXT, answers TEXT, generation TEXT,"
                         " request_sha256 TEXT, response TEXT)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  try {
    JudgmentCache cache(db());
    FAIL() << "an old cache was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(db()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("new --cache"), std::string::npos);
  }
}

// Child process, run without write access to the cache named by GEORANK_TEST_CACHE.
TEST(JudgmentCacheReadOnlyChild, DISABLED_UsesTheStoredJudgmentsAndStoresNothing) {
  const char* path = std::getenv("GEORANK_TEST_CACHE");
  ASSERT_NE(path, nullptr);
  JudgmentCache cache(path);
  EXPECT_TRUE(cache.read_only());
  EXPECT_EQ(cache.size(), 2);
  CountingBackend inner;
  CachingBackend cached(inner, cache);
  const auto out = cached.run(std::vector{request(1), request(2), request(9)});
  EXPECT_EQ(inner.n_requests, 1);  // only the judgment the cache does not hold
  EXPECT_EQ(cached.n_hits(), 2);
  EXPECT_EQ(out[0].text, "because 1");  // the stored answers, not fresh ones
  EXPECT_EQ(cache.size(), 2);
}

TEST_F(JudgmentCacheTest, ACacheThisProcessMayNotWriteIsReadAndKeepsItsJudgments) {
  {
    CountingBackend inner;
    JudgmentCache cache(db());
    CachingBackend cached(inner, cache);
    cached.run(std::vector{request(1), request(2)});
  }
  std::filesystem::permissions(db(), std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read);
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec);
  // root may write anything: its child runs without the capabilities that override file
  // permissions (it stays root, so it reaches the test binary wherever the checkout is).
  const std::string as = ::geteuid() == 0 ? "setpriv --bounding-set=-dac_override,-dac_read_search "
                                            "--inh-caps=-dac_override,-dac_read_search "
                                          : "";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto r = test::run_command(
      as + "env GEORANK_TEST_CACHE=" + test::shell_quote(db()) + " " + test::shell_quote(self) +
      " --gtest_also_run_disabled_tests --gtest_filter=JudgmentCacheReadOnlyChild.*");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 1 test"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("is read-only: its judgments are used, new ones are not stored"), std::string::npos)
      << r.err;
  EXPECT_EQ(JudgmentCache(db()).size(), 2);
}

TEST(JudgmentCacheJson, ResponsesRoundTripExactlyIncludingNonFiniteValues) {
  VlmResponse r;
  r.logprobs = {-0.1234567890123456789, -std::numeric_limits<double>::infinity()};
  r.probs = {1.0 / 3.0, std::numeric_limits<double>::quiet_NaN()};
  r.covered_mass = 0.7000000000000001;
  r.text = "é \"quoted\"";
  const VlmResponse back = response_from_json(nlohmann::json::parse(response_to_json(r).dump()));
  EXPECT_EQ(back.logprobs[0], r.logprobs[0]);
  EXPECT_TRUE(std::isinf(back.logprobs[1]) && back.logprobs[1] < 0);
  EXPECT_EQ(back.probs[0], r.probs[0]);
  EXPECT_TRUE(std::isnan(back.probs[1]));
  EXPECT_EQ(back.covered_mass, r.covered_mass);
  EXPECT_EQ(back.text, r.text);
}

TEST_F(JudgmentCacheTest, ACacheInAFolderThatDoesNotExistYetIsCreatedWithItsFolder) {
  // Like --out: the folder is made, the cache works.
  const std::string path = dir_ + "/not/yet/there/judgments.sqlite";
  {
    CountingBackend inner;
    JudgmentCache cache(path);
    CachingBackend cached(inner, cache);
    cached.run(std::vector{request(1)});
    EXPECT_EQ(inner.n_requests, 1);
  }
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(JudgmentCache(path).size(), 1);
}

TEST(JudgmentCacheErrors, AFileThatIsNotADatabaseIsAnError) {
  const std::string path = test::scratch_root() + "/not_a_db.sqlite";
  std::filesystem::create_directories(test::scratch_root());
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("this is not sqlite, just some text that is long enough to look like a header", f);
  std::fclose(f);
  EXPECT_THROW(JudgmentCache cache(path), Error);
}

}  // namespace
}  // namespace georank
