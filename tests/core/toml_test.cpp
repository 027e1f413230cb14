#include <gtest/gtest.h>

#include <string>

#include "georank/core/error.hpp"
#include "georank/core/toml.hpp"

namespace georank {
namespace {

std::string rejection(const std::string& text) {
  try {
    (void)parse_toml(text, "x.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    return e.what();
  }
  return "accepted";
}

TEST(Toml, ValuesBecomeJsonAndEveryKeyKeepsItsLine) {
  const auto doc = parse_toml(
      "out = \"o\"\nflag = false\n\n[rerank]\nk = 5\nalpha = 0.25\ncities = [\"A\", \"B\"]\n\n"
      "[strategies.bt]\norders = \"both\"\n",
      "x.toml");
  EXPECT_EQ(doc.value.at("out"), "o");
  EXPECT_EQ(doc.value.at("flag"), false);
  EXPECT_EQ(doc.value.at("rerank").at("k"), 5);
  EXPECT_TRUE(doc.value.at("rerank").at("k").is_number_integer());
  EXPECT_DOUBLE_EQ(doc.value.at("rerank").at("alpha").get<double>(), 0.25);
  EXPECT_EQ(doc.value.at("rerank").at("cities"), nlohmann::json({"A", "B"}));
  EXPECT_EQ(doc.line_of("flag"), 2);
  EXPECT_EQ(doc.line_of("rerank.k"), 5);
  EXPECT_EQ(doc.line_of("strategies.bt.orders"), 10);
  EXPECT_EQ(doc.line_of("strategies.bt.missing"), doc.line_of("strategies.bt"));
  EXPECT_EQ(doc.where("rerank.alpha"), "x.toml:6");
}

TEST(Toml, SyntaxErrorsNameTheLineAndColumn) {
  EXPECT_NE(rejection("a = 1\nb = \"open\n").find("x.toml:2:"), std::string::npos);
  EXPECT_NE(rejection("a = 1\na = 2\n").find("x.toml:2:"), std::string::npos);
  EXPECT_NE(rejection("a = 1\nb = caf\xc3\n").find("x.toml:2: not valid UTF-8"), std::string::npos);
}

// toml++'s Unicode tables reached __builtin_unreachable for these (found by fuzzing); the
// fuzz replay under UBSan checks the path, this the outcome: an error naming the place.
TEST(Toml, NonAsciiCharactersWhereWhitespaceMayStandAreSyntaxErrors) {
  for (const std::string text :
       {"a = 1 \xc3\xa9\n", "a = 1 \xc2\xa7\n", " [\xd0\x87\xd1\x8f]\n", "\xef\xbb\xbd"}) {
    const auto what = rejection(text);
    EXPECT_NE(what.find("x.toml:1:"), std::string::npos) << what;
    EXPECT_NE(what.find("not valid TOML"), std::string::npos) << what;
  }
}

TEST(Toml, DatesAreNotSettings) {
  const auto what = rejection("[run]\nwhen = 2026-12-01\n");
  EXPECT_NE(what.find("x.toml:2: run.when"), std::string::npos) << what;
}

TEST(Toml, WrittenTomlReadsBackAsTheSameValue) {
  const nlohmann::json value = {
      {"out", "a \"quoted\"\npath"},
      {"random_weights", true},
      {"dataset", {{"cities", {"Chicago", "NewYork"}}, {"subset", 12}}},
      {"strategies", {{"bt", {{"k", 5}, {"alpha", 0.1}}}, {"odd name", {{"k", 3}}}}},
      {"skipped", nullptr}};
  const std::string text = to_toml(value);
  nlohmann::json expected = value;
  expected.erase("skipped");
  EXPECT_EQ(parse_toml(text, "w.toml").value, expected) << text;
  EXPECT_THROW((void)to_toml(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace georank
