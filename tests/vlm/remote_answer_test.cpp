// Reading server answers whose numbers do not fit: token ids and counts past int.

#include "vlm/remote_answer.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace georank::remote {
namespace {

using nlohmann::json;

json completion_with_alternatives(const json& alternatives) {
  return json{{"completion_probabilities", json::array({json{{"top_logprobs", alternatives}}})}};
}

TEST(RemoteAnswer, ATokenIdPastIntMakesTheEntryUnreadableInsteadOfTruncatingIt) {
  // 2^32 + 5 truncates to 5, the id of " A" below: the two must not be merged.
  const auto body = completion_with_alternatives(json::array({
      json{{"id", 5}, {"token", " A"}, {"logprob", -0.5}},
      json{{"id", 4294967301LL}, {"token", "A"}, {"logprob", -1.0}},
      json{{"id", -3}, {"token", "B"}, {"logprob", -2.0}},
      json{{"id", 18446744073709551615ULL}, {"token", "C"}, {"logprob", -3.0}},
      json{{"id", 1e300}, {"token", "D"}, {"logprob", -4.0}},
  }));
  const auto alternatives = first_position_alternatives(body);
  ASSERT_TRUE(alternatives.has_value());
  ASSERT_EQ(alternatives->size(), 1u);
  EXPECT_EQ(alternatives->front().text, " A");
  EXPECT_EQ(alternatives->front().id, 5);
}

TEST(RemoteAnswer, AnAnswerWhoseOnlyIdsAreBadCarriesNoLogprobs) {
  const auto body =
      completion_with_alternatives(json::array({json{{"id", 1e300}, {"token", "A"}, {"logprob", 0.0}}}));
  EXPECT_FALSE(first_position_alternatives(body).has_value());
  EXPECT_NE(check_has_logprobs(body), "");
}

TEST(RemoteAnswer, CountsThatDoNotFitAnIntAreTreatedAsAbsent) {
  const json body = {{"usage", {{"prompt_tokens", 1e300}, {"completion_tokens", 4294967297LL}}},
                     {"timings", {{"prompt_n", -7}, {"predicted_n", 3}, {"prompt_ms", 1.5}}}};
  const auto s = answer_stats(body);
  EXPECT_EQ(s.n_prompt, 0);
  EXPECT_EQ(s.n_generated, 0);
  EXPECT_EQ(s.n_decoded, 3);
  EXPECT_EQ(s.prompt_ms, 1.5);
}

TEST(RemoteAnswer, CountsNearIntMaxDoNotOverflowTheirSum) {
  constexpr int kMax = std::numeric_limits<int>::max();
  const json body = {{"usage", {{"prompt_tokens", kMax}, {"completion_tokens", kMax}}}};
  const auto s = answer_stats(body);
  EXPECT_EQ(s.n_prompt, kMax);
  EXPECT_EQ(s.n_generated, kMax);
  EXPECT_EQ(s.n_decoded, kMax);
}

TEST(RemoteAnswer, ValidIdsAndCountsAreReadAsBefore) {
  const json body = {{"tokens_evaluated", 12}, {"tokens_predicted", 1.0}};
  const auto s = answer_stats(body);
  EXPECT_EQ(s.n_prompt, 12);
  EXPECT_EQ(s.n_generated, 1);
  EXPECT_EQ(s.n_decoded, 13);
  const auto alternatives = first_position_alternatives(
      completion_with_alternatives(json::array({json{{"id", 0}, {"token", "x"}, {"prob", 1.0}}})));
  ASSERT_TRUE(alternatives.has_value());
  EXPECT_EQ(alternatives->front().id, 0);
}

}  // namespace
}  // namespace georank::remote
