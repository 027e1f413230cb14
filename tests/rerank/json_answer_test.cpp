// generate-json answers: the parser on hostile and ordinary text, and the judges reading
// scripted generations (requests generate instead of scoring the answer set).

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "georank/rerank/aggregate.hpp"
#include "georank/rerank/judge.hpp"
#include "georank/rerank/prompt.hpp"
#include "rerank/json_answer.hpp"

namespace georank {
namespace {

TEST(JsonAnswer, TheFieldOfTheFirstObjectAroundProseAndFences) {
  EXPECT_EQ(json_answer_field("{\"preference\": 2}", "preference"), nlohmann::json(2));
  EXPECT_EQ(json_answer_field("Sure!\n```json\n{\"preference\": \"1\"}\n```", "preference"),
            nlohmann::json("1"));
  EXPECT_EQ(json_answer_field("{\"reasoning\": \"a } inside {\", \"score\": 87}", "score"),
            nlohmann::json(87));
  EXPECT_EQ(json_answer_field("{\"a\": {\"score\": 3}} then {\"score\": 5}", "score"), nlohmann::json(3));
  for (const char* bad : {"", "2", "{", "{\"preference\": }", "{\"other\": 1}", "}{", "{\"preference\": 1",
                          "\xff\xfe{\"preference\"\xff: 1}"})
    EXPECT_FALSE(json_answer_field(bad, "preference").has_value()) << bad;
  EXPECT_EQ(json_answer_number(nlohmann::json(" 87 ")), 87.0);
  EXPECT_EQ(json_answer_number(nlohmann::json(12.5)), 12.5);
  EXPECT_FALSE(json_answer_number(nlohmann::json("87 points")).has_value());
  EXPECT_FALSE(json_answer_number(nlohmann::json("inf")).has_value());
  EXPECT_FALSE(json_answer_number(nlohmann::json::array()).has_value());
  // Deep nesting and long text neither crash nor recurse without bound.
  EXPECT_FALSE(json_answer_field(std::string(100000, '{'), "score").has_value());
}

// A backend answering each request with the next scripted text; it records the requests.
class ScriptedBackend final : public VlmBackend {
 public:
  explicit ScriptedBackend(std::vector<std::string> texts) : texts_(std::move(texts)) {}
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    std::vector<VlmResponse> out;
    for (const auto& r : requests) {
      seen.push_back(r);
      VlmResponse resp;
      resp.text = texts_.at(next_++ % texts_.size());
      out.push_back(resp);
    }
    return out;
  }
  [[nodiscard]] JudgeIdentity identity() const override { return {}; }
  [[nodiscard]] std::string name() const override { return "scripted"; }
  std::vector<VlmRequest> seen;

 private:
  std::vector<std::string> texts_;
  std::size_t next_ = 0;
};

JudgeImages images(int n) {
  JudgeImages ji;
  auto img = std::make_shared<Image>();
  img->width = img->height = 4;
  img->rgb.assign(48, 100);
  img->finalize();
  ji.query = img;
  for (int i = 0; i < n; ++i) ji.candidates.push_back(img);
  return ji;
}

TEST(JsonAnswer, PairwiseReadsThePreferenceAndCountsFailuresAsUnparsed) {
  const PromptTemplate prompt = builtin_prompt_template("paper-pairwise-llava");
  // The model continues the prefill `{"preference": `; failures keep P(first) = 0.5.
  ScriptedBackend backend({"2}", "1}", "{\"preference\": 2}", "I cannot tell.", "3}"});
  auto judge = make_vlm_pair_judge(backend, prompt, images(2), AnswerMode::generate_json);
  const std::vector<std::pair<int, int>> pairs(5, {0, 1});
  const auto got = judge->judge(pairs);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(got[0].parsed);
  EXPECT_DOUBLE_EQ(got[0].p_first, 0.0);
  EXPECT_DOUBLE_EQ(got[1].p_first, 1.0);
  EXPECT_DOUBLE_EQ(got[2].p_first, 0.0);  // a whole object after the prefill still parses
  for (int i : {3, 4}) {
    EXPECT_FALSE(got[i].parsed) << i;
    EXPECT_DOUBLE_EQ(got[i].p_first, 0.5) << i;
  }
  EXPECT_EQ(got[3].text, "I cannot tell.");
  // Generation requests: no answer set to score, the JSON budget to write in.
  for (const auto& r : backend.seen) {
    EXPECT_TRUE(r.choices.empty());
    EXPECT_EQ(r.generation.max_tokens, kJsonAnswerTokens);
    EXPECT_EQ(r.assistant_prefill, "{\"preference\": ");
  }
  // Log-probability mode asks for the answer set instead.
  ScriptedBackend lp({""});
  auto scored = make_vlm_pair_judge(lp, prompt, images(2));
  (void)scored->judge(std::vector<std::pair<int, int>>{{0, 1}});
  EXPECT_EQ(lp.seen.at(0).choices, (std::vector<std::string>{"1", "2"}));
}

TEST(JsonAnswer, PointwiseScoresAreClampedToTheScaleAndYesNoNamesAnAnswer) {
  // Judges keep a reference to their template.
  const PromptTemplate score = builtin_prompt_template("paper-pointwise-score-qwen");
  const PromptTemplate yesno = builtin_prompt_template("paper-pointwise-yesno-qwen");
  ScriptedBackend backend({"87}", "{\"score\": 250}", "{\"score\": \"x\"}"});
  auto judge =
      make_vlm_point_judge(backend, score, images(3), ScoreMode::expected, AnswerMode::generate_json);
  const std::vector<int> ids = {0, 1, 2};
  const auto got = judge->judge(ids);
  EXPECT_DOUBLE_EQ(got[0].score, 87);
  EXPECT_DOUBLE_EQ(got[0].normalized, 0.87);
  EXPECT_DOUBLE_EQ(got[1].score, 100);
  EXPECT_FALSE(got[2].parsed);
  EXPECT_TRUE(std::isnan(got[2].normalized));

  ScriptedBackend yn({"{\"answer\": \"yes\"}", "{\"answer\": \"No\"}", "{\"answer\": \"maybe\"}"});
  auto yes_no = make_vlm_point_judge(yn, yesno, images(3), ScoreMode::expected, AnswerMode::generate_json);
  const auto a = yes_no->judge(ids);
  EXPECT_DOUBLE_EQ(a[0].normalized, 1.0);
  EXPECT_DOUBLE_EQ(a[1].normalized, 0.0);
  EXPECT_FALSE(a[2].parsed);
}

// The paper's protocol end to end: selection over generated preferences, where an unparsable
// answer keeps the current best.
TEST(JsonAnswer, SelectionOverGeneratedPreferencesKeepsTheBestOnAFailure) {
  // K = 4, top 3: calls (0,1) "2" -> best 1; (1,2) garbage -> keep 1; (1,3) "1" -> keep 1;
  // swap -> [1 0 2 3]; (0,2) "2" -> best 2; (2,3) "1"; swap -> [1 2 0 3]; (0,3) "2" -> [1 2 3 0].
  const PromptTemplate prompt = builtin_prompt_template("paper-pairwise-qwen");
  ScriptedBackend backend({"2}", "??", "1}", "2}", "1}", "2}"});
  auto judge = make_vlm_pair_judge(backend, prompt, images(4), AnswerMode::generate_json);
  ComparisonOracle oracle(*judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::selection, 4, oracle,
                                    {.selection_top = 3, .selection_batched = false});
  EXPECT_EQ(r.order, (std::vector<int>{1, 2, 3, 0}));
  EXPECT_EQ(backend.seen.size(), 6u);  // 3K - 6 sequential calls
  EXPECT_FALSE(oracle.judgments()[1].parsed);
}

}  // namespace
}  // namespace georank
