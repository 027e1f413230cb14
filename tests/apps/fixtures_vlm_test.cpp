// `georank fixtures vlm --arch`: each family's pair written by the CLI is the library's, and
// `georank score` judges with it in-process, in the family's own chat template.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "georank/core/atomic_file.hpp"
#include "georank/data/image.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using test::shell_quote;
using ::testing::HasSubstr;

test::ProcessResult georank(const std::string& args) {
  return test::run_georank(args);
}

TEST(FixturesVlmCli, EachArchWritesTheLibrarysPairAndScoresInItsOwnTemplate) {
  const std::string dir = test::fresh_work_dir("fixtures-vlm-cli");
  write_png(*testing::noise_image(64, 32, 3), dir + "/tile.png");
  const struct {
    const char* arch;
    VlmFixtureArch value;
    const char* template_name;
    int image_tokens;  // for the 64x32 px image
  } cases[] = {{"llava", VlmFixtureArch::llava, "model:vicuna", 16},
               {"qwen2vl", VlmFixtureArch::qwen2vl, "model:chatml", 8},
               {"gemma3", VlmFixtureArch::gemma3, "model:gemma", 16}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arch);
    const std::string out = dir + "/" + c.arch;
    const auto made =
        georank("fixtures vlm --seed 3 --arch " + std::string(c.arch) + " --out " + shell_quote(out));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    EXPECT_THAT(made.out, HasSubstr("arch " + std::string(c.arch) + "): outputs mean nothing"));
    const auto lib =
        write_vlm_fixture(dir + "/lib-" + c.arch, 3, VlmFixtureShape::tiny, VlmFixtureType::native, c.value);
    EXPECT_EQ(read_file_text(out + "/text.gguf"), read_file_text(lib.text_model));
    EXPECT_EQ(read_file_text(out + "/mmproj.gguf"), read_file_text(lib.mmproj));

    const auto scored =
        georank("score --json --threads 1 --model " + shell_quote(out + "/text.gguf") + " --mmproj " +
                shell_quote(out + "/mmproj.gguf") + " --image " + shell_quote(dir + "/tile.png") +
                " --prompt 'Is this a road?' --choices Yes,No");
    ASSERT_EQ(scored.exit_code, 0) << scored.err;
    const auto j = nlohmann::json::parse(scored.out);
    EXPECT_EQ(j.at("template"), c.template_name);
    EXPECT_EQ(j.at("n_image_tokens"), c.image_tokens);
    EXPECT_NEAR(j.at("probs").at("Yes").get<double>() + j.at("probs").at("No").get<double>(), 1.0, 1e-9);
    EXPECT_THAT(j.at("note").get<std::string>(), HasSubstr("random-weight"));
  }
}

TEST(FixturesVlmCli, AnUnknownArchIsBadInputNamingTheFlag) {
  const std::string dir = test::fresh_work_dir("fixtures-vlm-cli-bad");
  const auto r = georank("fixtures vlm --arch qwen3vl --out " + shell_quote(dir + "/x"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--arch"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/x"));
}

}  // namespace
}  // namespace georank
