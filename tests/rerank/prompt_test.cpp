#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "georank/core/sha256.hpp"
#include "georank/rerank/prompt.hpp"
#include "support/tiny_image.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

using test::solid;

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(PromptTemplates, EveryBuiltinTemplateParsesAndDescribesTheImages) {
  const auto names = builtin_prompt_names();
  for (const char* expected : {"pairwise", "pointwise-score", "pointwise-likert", "pointwise-yesno",
                               "pointwise-yesno-reasoning", "listwise"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const PromptTemplate t = builtin_prompt_template(name);
    EXPECT_EQ(t.name, name);
    if (name.starts_with("paper-")) {
      // The reference paper's structure: "Query Image", then "Satellite Image [1/2]", an
      // analyst role and a JSON answer with the template's field.
      EXPECT_NE(t.user.find("Query Image (street level): {query}"), std::string::npos) << name;
      EXPECT_NE(t.user.find("Satellite Image"), std::string::npos) << name;
      EXPECT_NE((t.system + t.user).find("expert geospatial analyst"), std::string::npos) << name;
      EXPECT_EQ(name.ends_with("-llava"), t.system.empty()) << name << ": LLaVA-1.5 has no system turn";
      if (!name.starts_with("paper-pointwise-yesno"))
        EXPECT_NE(t.user.find("{\"" + t.json_field + "\": "), std::string::npos) << name;
    } else {
      EXPECT_NE(t.user.find("street-level panorama (or photo)"), std::string::npos) << name;
      EXPECT_NE(t.user.find("top-down aerial/satellite tile"), std::string::npos) << name;
    }
    EXPECT_EQ(t.sha256.size(), 64u);
  }
}

TEST(PromptTemplates, BuiltinTextIsTheRepositoryFileAndItsHashIsSha256OfIt) {
  const PromptTemplate t = builtin_prompt_template("pairwise");
  const PromptTemplate f = load_prompt_template(std::string(GEORANK_SOURCE_DIR) + "/prompts/pairwise.toml");
  EXPECT_EQ(t.text, f.text);
  EXPECT_EQ(t.sha256, f.sha256);
  EXPECT_EQ(t.sha256, sha256_hex({reinterpret_cast<const std::uint8_t*>(f.text.data()), f.text.size()}));
  EXPECT_EQ(t.source, "builtin:pairwise.toml");
}

TEST(PromptTemplates, PairwiseRequestPutsTheQueryFirstAndOneMarkerPerImage) {
  const PromptTemplate t = builtin_prompt_template("pairwise");
  const auto q = solid(1), a = solid(2), b = solid(3);
  const std::vector<std::shared_ptr<const Image>> cands = {a, b};
  const VlmRequest r = render_prompt(t, q, cands);
  ASSERT_EQ(r.images.size(), 3u);
  EXPECT_EQ(r.images[0]->id, q->id);
  EXPECT_EQ(r.images[1]->id, a->id);
  EXPECT_EQ(r.images[2]->id, b->id);
  EXPECT_EQ(r.choices, (std::vector<std::string>{"A", "B"}));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(count(r.messages[1].content, kMediaMarker), 3u);
  EXPECT_EQ(r.messages[1].content.find('{'), std::string::npos);
}

TEST(PromptTemplates, ListwiseLabelsCandidatesOneToNAndAnswersWithTheLabels) {
  const PromptTemplate t = builtin_prompt_template("listwise");
  std::vector<std::shared_ptr<const Image>> cands = {solid(2), solid(3), solid(4), solid(5)};
  const VlmRequest r = render_prompt(t, solid(1), cands);
  EXPECT_EQ(r.images.size(), 5u);
  EXPECT_EQ(r.choices, (std::vector<std::string>{"1", "2", "3", "4"}));
  const std::string& u = r.messages.back().content;
  EXPECT_EQ(count(u, kMediaMarker), 5u);
  EXPECT_NE(u.find("Tile 4: "), std::string::npos);
  EXPECT_NE(u.find("labelled 1, 2, 3, 4"), std::string::npos);
}

TEST(PromptTemplates, DirectScoreAnswersAreTheIntegersZeroToHundred) {
  const PromptTemplate t = builtin_prompt_template("pointwise-score");
  ASSERT_EQ(t.answers.size(), 101u);
  EXPECT_EQ(t.answers.front(), "0");
  EXPECT_EQ(t.answers.back(), "100");
}

TEST(PromptTemplates, ReasoningTemplateGeneratesThenScoresAfterTheCue) {
  const PromptTemplate t = builtin_prompt_template("pointwise-yesno-reasoning");
  std::vector<std::shared_ptr<const Image>> cands = {solid(2)};
  const VlmRequest r = render_prompt(t, solid(1), cands);
  EXPECT_GT(r.generation.max_tokens, 0);
  EXPECT_FALSE(r.answer_cue.empty());
  EXPECT_EQ(r.choices, (std::vector<std::string>{"Yes", "No"}));
}

TEST(PromptTemplates, AUserFileOverridesTheBuiltinAndItsExactTextIsHashed) {
  const std::string dir = test::scratch_root() + "/prompt_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/mine.toml";
  const std::string text =
      "name = \"mine\"\nstrategy = \"pairwise\"\nuser = \"\"\"Ground {query} then {second} and "
      "{first}?\"\"\"\n"
      "answers = [\"1\", \"2\"]  # first, second\n";
  std::ofstream(path) << text;
  const PromptTemplate t = resolve_prompt_template(path);
  EXPECT_EQ(t.name, "mine");
  EXPECT_EQ(t.text, text);
  EXPECT_EQ(t.sha256, sha256_hex({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
  const auto q = solid(1), a = solid(2), b = solid(3);
  const std::vector<std::shared_ptr<const Image>> cands = {a, b};
  const VlmRequest r = render_prompt(t, q, cands);
  // The markers follow the text: query, then the second candidate, then the first.
  EXPECT_EQ(r.images[1]->id, b->id);
  EXPECT_EQ(r.images[2]->id, a->id);
  EXPECT_TRUE(r.messages.size() == 1 && r.messages[0].role == "user");
}

TEST(PromptTemplates, MalformedTemplatesAreRejectedWithTheLine) {
  const auto bad = [](const std::string& text) {
    try {
      parse_prompt_template(text, "x.toml");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(
      bad("name = \"a\"\nstrategy = \"pairwise\"\nanswers = [\"A\",\"B\"]\n").find("missing key 'user'"),
      std::string::npos);
  EXPECT_NE(
      bad("name = \"a\"\nstrategy = \"pairwise\"\nuser = \"{query}\nanswers = [\"A\"]\n").find("x.toml:3"),
      std::string::npos);
  EXPECT_NE(bad("name = \"a\"\nstrategy = \"nope\"\nuser = \"{query}\"\nanswers = [\"A\",\"B\"]\n")
                .find("unknown strategy"),
            std::string::npos);
  EXPECT_NE(bad("name = \"a\"\nstrategy = \"pairwise\"\nuser = \"{query}\"\nanswers = [\"A\",\"B\"]\ncolour "
                "= \"x\"\n")
                .find("unknown key 'colour'"),
            std::string::npos);
  EXPECT_THROW(builtin_prompt_template("no-such"), Error);
}

std::string rejection(const std::string& text) {
  try {
    parse_prompt_template(text, "hostile.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    return e.what();
  }
  return "accepted";
}

TEST(PromptTemplates, DeeplyNestedArraysAreRejectedInsteadOfExhaustingTheStack) {
  const std::size_t depth = 200000;
  const std::string text =
      "name = \"a\"\nstrategy = \"pairwise\"\nuser = \"{query}\"\nanswers = " + std::string(depth, '[') +
      std::string(depth, ']') + "\n";
  const auto what = rejection(text);
  EXPECT_NE(what.find("hostile.toml:4"), std::string::npos) << what;
  EXPECT_NE(what.find("exceeded maximum nested value depth"), std::string::npos) << what;
}

TEST(PromptTemplates, ACandidatePlaceholderSpelledInTheTextMustNameAnExistingImage) {
  auto t = builtin_prompt_template("pointwise-score");
  const auto q = solid(1), a = solid(2);
  const std::vector<std::shared_ptr<const Image>> one = {a};
  for (const char* placeholder : {"{cand:1}", "{cand:99999999999999999999}", "{cand:x}"}) {
    t.user = "{query} then " + std::string(placeholder);
    try {
      (void)render_prompt(t, q, one);
      ADD_FAILURE() << placeholder << " was rendered";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(placeholder), std::string::npos) << e.what();
    }
  }
}

TEST(PromptTemplates, AnAnswersRangeWhoseWidthOverflowsIsRejected) {
  // hi - lo exceeds LLONG_MAX: unchecked, the width wraps negative and passes "at most 1001".
  const auto what = rejection(
      "name = \"a\"\nstrategy = \"pointwise-score\"\nuser = \"{query}\"\n"
      "answers_range = [-9223372036854775807, 9223372036854775807]\n");
  EXPECT_NE(what.find("hostile.toml:4: prompt template: 'answers_range'"), std::string::npos) << what;
}

TEST(PromptTemplates, TextThatIsNotUtf8IsRejectedWithItsLineBeforeAnyJudgment) {
  // Unchecked, the bytes reach the run's meta and fail only when it is written.
  const auto what = rejection(
      "name = \"a\"\nstrategy = \"pairwise\"\nuser = \"{query} caf\xe9\"\n"
      "answers = [\"A\",\"B\"]\n");
  EXPECT_NE(what.find("hostile.toml:3: not valid UTF-8"), std::string::npos) << what;
}

}  // namespace
}  // namespace georank
