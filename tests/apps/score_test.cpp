// The `georank score` CLI on the tiny fixture, in-process and through llama-server.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "georank/data/image.hpp"
#include "support/llama_server.hpp"
#include "support/subprocess.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using nlohmann::json;
using test::shell_quote;

class ScoreCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::fresh_work_dir("score-cli"));
    write_png(*testing::noise_image(64, 32, 11), *dir_ + "/ground.png");
    write_png(*testing::noise_image(32, 32, 12), *dir_ + "/tile.png");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string in_process_flags() {
    return " --model " + shell_quote(testing::tiny_vlm().text_model) + " --mmproj " +
           shell_quote(testing::tiny_vlm().mmproj) + " --threads 1";
  }
  static std::string images() {
    return " --image " + shell_quote(*dir_ + "/ground.png") + " --image " + shell_quote(*dir_ + "/tile.png");
  }
  static test::ProcessResult score(const std::string& flags) {
    return test::run_command(std::string(GEORANK_CLI_PATH) + " score" + flags);
  }

  static std::string* dir_;
};

std::string* ScoreCli::dir_ = nullptr;

double sum_of_probs(const json& j) {
  double sum = 0;
  for (const auto& [answer, p] : j.at("probs").items()) sum += p.get<double>();
  return sum;
}

const std::string kRawPrompt = "USER: ground <__media__> tile <__media__> Same place, Yes or No?\nASSISTANT:";

TEST_F(ScoreCli, InProcessJsonHasTheDistributionTokenCountsTemplateAndTimings) {
  const auto r =
      score(in_process_flags() + images() + " --prompt 'Which tile, A or B?' --choices A,B --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_NEAR(sum_of_probs(j), 1.0, 1e-9);
  EXPECT_THAT(j.at("probs").size(), 2u);
  EXPECT_LT(j.at("logprobs").at("A").get<double>(), 0.0);
  const double mass = j.at("covered_mass").get<double>();
  EXPECT_NEAR(mass, std::exp(j["logprobs"]["A"].get<double>()) + std::exp(j["logprobs"]["B"].get<double>()),
              1e-9);
  EXPECT_EQ(j.at("n_image_tokens").get<int>(), 32);  // two images, 16 tokens each
  EXPECT_GT(j.at("n_prompt_tokens").get<int>(), 32);
  EXPECT_EQ(j.at("template").get<std::string>(), "model:vicuna");
  const auto& t = j.at("timings_ms");
  EXPECT_GT(t.at("load").get<double>(), 0.0);
  EXPECT_GE(t.at("total").get<double>(), t.at("load").get<double>());  // the total includes the load
  EXPECT_THAT(j.at("note").get<std::string>(), ::testing::HasSubstr("mean nothing"));
}

TEST_F(ScoreCli, ServerAndInProcessGiveTheSameDistributionForARawPrompt) {
  test::LlamaServerOptions options;
  options.model = testing::tiny_vlm().text_model;
  options.mmproj = testing::tiny_vlm().mmproj;
  options.n_ctx = 2048;
  options.work_dir = *dir_ + "/server";
  test::LlamaServer server(options);

  const std::string flags =
      images() + " --raw-prompt " + shell_quote(kRawPrompt) + " --choices Yes,No --json";
  const auto served = score(" --server " + server.url() + " --top-logprobs 1000" + flags);
  ASSERT_EQ(served.exit_code, 0) << served.err;
  const auto local = score(in_process_flags() + flags);
  ASSERT_EQ(local.exit_code, 0) << local.err;
  const json s = json::parse(served.out);
  const json l = json::parse(local.out);
  EXPECT_NEAR(sum_of_probs(s), 1.0, 1e-9);
  EXPECT_EQ(s.at("backend"), "remote");
  EXPECT_EQ(s.at("template"), "raw");
  EXPECT_TRUE(s.at("n_image_tokens").is_null());  // servers do not report it
  EXPECT_EQ(s.at("n_prompt_tokens"), l.at("n_prompt_tokens"));
  for (const char* answer : {"Yes", "No"}) {
    EXPECT_NEAR(s["probs"][answer].get<double>(), l["probs"][answer].get<double>(), 1e-3) << answer;
    EXPECT_FALSE(s["not_in_top"][answer].get<bool>());
  }
}

TEST_F(ScoreCli, TextOutputSaysTheWeightsAreRandom) {
  const auto r = score(in_process_flags() + images() + " --prompt 'A or B?' --choices A,B");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("mean nothing"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("covered mass"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("template       model:vicuna"));
}

TEST_F(ScoreCli, MissingFilesAndBadFlagsGiveClearErrors) {
  auto r = score(in_process_flags() + " --image /nonexistent/x.png --prompt hi --choices A,B");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::HasSubstr("/nonexistent/x.png"));

  r = score(in_process_flags() + " --server http://127.0.0.1:1 --prompt hi --choices A,B");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::HasSubstr("excludes"));

  r = score(in_process_flags() + images() + " --prompt hi");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("--choices"));

  r = score(in_process_flags() + images() + " --prompt 'A?' --choices A,B,A");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("'A' is given twice"));

  r = score(in_process_flags() + images() + " --raw-prompt 'one image <__media__> only:' --choices A,B");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("marker"));

  r = score(" --server http://127.0.0.1:1 --template chatml --prompt hi --choices A,B");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::HasSubstr("--template"));
}

TEST_F(ScoreCli, UnreachableServerIsABackendErrorNamingIt) {
  const auto r = score(
      " --server http://127.0.0.1:1 --server-model m --dialect openai --timeout 2 --retries 0 --prompt hi "
      "--choices A,B");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_THAT(r.err, ::testing::HasSubstr("http://127.0.0.1:1"));
}

}  // namespace
}  // namespace georank
