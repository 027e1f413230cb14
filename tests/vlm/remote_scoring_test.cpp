// Closed-set scoring from top log-probabilities by token id (llama-server) and by text.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "georank/core/error.hpp"
#include "vlm/remote_scoring.hpp"

namespace georank::remote {
namespace {

// Greedy longest-match tokeniser over a small vocabulary. "E" and " E" merge with a preceding
// ":" into one token, so after "Q:" they are no continuation.
std::vector<PieceToken> toy_tokenize(const std::string& text, bool add_special) {
  static const std::map<std::string, int> vocab = {{"Q", 2},   {":", 3},    {" ", 11}, {"A", 4},  {" A", 5},
                                                   {"1", 6},   {"0", 7},    {" 1", 8}, {"B", 9},  {" B", 10},
                                                   {":E", 12}, {": E", 13}, {"E", 14}, {" E", 15}};
  std::vector<PieceToken> out;
  if (add_special) out.push_back({1, "<s>"});
  for (std::size_t i = 0; i < text.size();) {
    std::size_t best = 0;
    int id = 0;
    for (const auto& [piece, pid] : vocab)
      if (piece.size() > best && text.compare(i, piece.size(), piece) == 0) best = piece.size(), id = pid;
    if (best == 0) throw Error(ErrorKind::invalid_argument, "toy vocabulary cannot write '" + text + "'");
    out.push_back({id, text.substr(i, best)});
    i += best;
  }
  return out;
}

TEST(ScoreByIds, SumsTheVariantsFoundAndTeacherForcesMultiTokenAnswers) {
  std::vector<std::string> asked;
  const NextAlternatives next = [&](const std::string& continuation) -> std::vector<TokenLogprob> {
    asked.push_back(continuation);
    if (continuation.empty())
      return {{" A", std::log(0.4), 5},
              {" 1", std::log(0.2), 8},
              {"A", std::log(0.1), 4},
              {"B", std::log(0.05), 9}};
    if (continuation == " 1") return {{"0", std::log(0.5), 7}, {" B", std::log(0.01), 10}};
    ADD_FAILURE() << "unexpected continuation '" << continuation << "'";
    return {};
  };
  const auto scored = score_by_ids({"A", "10", "B"}, "Q:", true, toy_tokenize, next);
  EXPECT_NEAR(scored.logprobs[0], std::log(0.5), 1e-12);   // "A" + " A"
  EXPECT_NEAR(scored.logprobs[1], std::log(0.1), 1e-12);   // " 1" then "0"; "10" = [1][0] is not shown
  EXPECT_NEAR(scored.logprobs[2], std::log(0.05), 1e-12);  // "B"; " B" is not shown at the start
  EXPECT_THAT(scored.not_in_top, testing::ElementsAre(false, false, false));
  EXPECT_THAT(asked, testing::ElementsAre("", " 1"));
  EXPECT_EQ(scored.n_queries, 2);
}

TEST(ScoreByIds, FloorsAndFlagsAChoiceWhoseTokensAreNotShown) {
  const NextAlternatives next = [](const std::string&) -> std::vector<TokenLogprob> {
    return {{" A", std::log(0.6), 5}, {":", std::log(0.02), 3}};
  };
  const auto scored = score_by_ids({"A", "B"}, "Q:", true, toy_tokenize, next);
  EXPECT_NEAR(scored.logprobs[1], std::log(0.02), 1e-12);
  EXPECT_THAT(scored.not_in_top, testing::ElementsAre(false, true));
}

TEST(ScoreByIds, RejectsAChoiceThatCannotContinueThePrompt) {
  const NextAlternatives next = [](const std::string&) -> std::vector<TokenLogprob> {
    return {{"A", -1.0, 4}};
  };
  EXPECT_NO_THROW(score_by_ids({"A", "E"}, "Q", true, toy_tokenize, next));
  try {
    score_by_ids({"A", "E"}, "Q:", true, toy_tokenize, next);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_THAT(e.what(), testing::HasSubstr("choice 'E'"));
  }
}

TEST(ScoreByText, MatchesLeadingSpaceVariantsAndFollowsPrefixTokens) {
  std::vector<std::string> asked;
  const NextAlternatives next = [&](const std::string& continuation) -> std::vector<TokenLogprob> {
    asked.push_back(continuation);
    if (continuation.empty())
      return {{" Yes", std::log(0.3), std::nullopt},
              {"\xE2\x96\x81Yes", std::log(0.1), std::nullopt},
              {" N", std::log(0.2), std::nullopt},
              {"Maybe", std::log(0.3), std::nullopt}};
    return {{"o", std::log(0.5), std::nullopt}, {"ope", std::log(0.25), std::nullopt}};
  };
  const auto scored = score_by_text({"Yes", "No", "Never"}, next);
  EXPECT_NEAR(scored.logprobs[0], std::log(0.4), 1e-12);
  EXPECT_NEAR(scored.logprobs[1], std::log(0.2 * 0.5), 1e-12);
  EXPECT_NEAR(scored.logprobs[2], std::log(0.2 * 0.25), 1e-12);  // " N" then the smallest shown
  EXPECT_THAT(scored.not_in_top, testing::ElementsAre(false, false, true));
  EXPECT_THAT(asked, testing::ElementsAre("", " N"));
}

}  // namespace
}  // namespace georank::remote
