#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/core/error.hpp"

namespace georank {
namespace {

enum class Colour { red, dark_blue };
constexpr EnumName<Colour> kColourNames[] = {{Colour::red, "red"}, {Colour::dark_blue, "dark-blue"}};
std::span<const EnumName<Colour>> enum_names(Colour) {
  return kColourNames;
}

struct Inner {
  int depth = 2;
  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("depth", c.depth, "");
  }
};

struct Sample {
  bool flag = true;
  int count = 5;
  std::uint64_t seed = 0;
  double alpha = 0.5;
  std::string name = "x";
  std::vector<std::string> cities;
  Colour colour = Colour::red;
  Inner inner;
  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("flag", c.flag, "");
    v("count", c.count, "");
    v("seed", c.seed, "");
    v("alpha", c.alpha, "");
    v("name", c.name, "");
    v("cities", c.cities, "");
    v("colour", c.colour, "");
    v("inner", c.inner, "");
  }
};

std::string rejection(const nlohmann::json& j) {
  try {
    (void)config_from_json<Sample>(j, "s.toml:3: [sample]");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    return e.what();
  }
  return "accepted";
}

TEST(Config, JsonHasEveryFieldWithItsDefaultAndReadsBackToTheSameValue) {
  const nlohmann::json defaults = config_to_json(Sample{});
  EXPECT_EQ(defaults, nlohmann::json::parse(R"({"flag": true, "count": 5, "seed": 0, "alpha": 0.5,
      "name": "x", "cities": [], "colour": "red", "inner": {"depth": 2}})"));
  Sample s;
  s.flag = false;
  s.seed = UINT64_MAX;
  s.cities = {"Chicago", "Seattle"};
  s.colour = Colour::dark_blue;
  s.inner.depth = 7;
  const Sample back = config_from_json<Sample>(config_to_json(s), "round trip");
  EXPECT_EQ(config_to_json(back), config_to_json(s));
}

TEST(Config, MissingKeysKeepDefaultsAndDashesSpellUnderscores) {
  const Sample s = config_from_json<Sample>({{"count", 9}, {"colour", "dark-blue"}}, "w");
  EXPECT_EQ(s.count, 9);
  EXPECT_EQ(s.colour, Colour::dark_blue);
  EXPECT_DOUBLE_EQ(s.alpha, 0.5);
  EXPECT_EQ(config_from_json<Sample>({{"alpha", 1}}, "w").alpha, 1.0);  // an integer is a number
  EXPECT_EQ(config_from_json<Sample>({{"cities", "Chicago"}}, "w").cities,
            std::vector<std::string>{"Chicago"});
}

TEST(Config, UnknownKeysAndWrongValuesAreErrorsNamingWhereAndWhat) {
  const auto unknown = rejection({{"colr", "red"}});
  EXPECT_NE(unknown.find("s.toml:3: [sample]: unknown key 'colr' (expected flag, count, seed"),
            std::string::npos)
      << unknown;
  EXPECT_NE(rejection({{"count", "ten"}}).find("[sample] count: expected an integer"), std::string::npos);
  EXPECT_NE(rejection({{"count", 1e12}}).find("count"), std::string::npos);
  EXPECT_NE(rejection({{"count", 5000000000LL}}).find("an integer in [-2147483648, 2147483647]"),
            std::string::npos);
  EXPECT_NE(rejection({{"seed", -1}}).find("seed"), std::string::npos);
  EXPECT_NE(rejection({{"flag", 1}}).find("expected true or false"), std::string::npos);
  EXPECT_NE(rejection({{"colour", "green"}}).find("unknown 'green' (expected red | dark-blue)"),
            std::string::npos);
  EXPECT_NE(rejection({{"cities", {"a", 1}}}).find("[sample] cities: expected a string, not 1"),
            std::string::npos);
  EXPECT_NE(rejection({{"inner", {{"deep", 1}}}}).find("[sample] inner: unknown key 'deep'"),
            std::string::npos);
  EXPECT_NE(rejection(nlohmann::json::array()).find("a table of settings"), std::string::npos);
}

TEST(Config, EnumNamesParseBothWays) {
  EXPECT_EQ(enum_name(Colour::dark_blue), "dark-blue");
  EXPECT_EQ(enum_choices<Colour>(), "red | dark-blue");
  EXPECT_EQ(parse_enum<Colour>("red", "colour"), Colour::red);
  EXPECT_FALSE(enum_from_name<Colour>("dark_blue").has_value());
  EXPECT_THROW((void)parse_enum<Colour>("", "colour"), Error);
}

}  // namespace
}  // namespace georank
