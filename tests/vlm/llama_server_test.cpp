// Debian's llama-server from the runtime prefix, started on the tiny fixture: it is healthy,
// answers a chat completion with two base64 images and log-probabilities, and serves the
// remote backend.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "georank/vlm/remote_backend.hpp"
#include "support/llama_server.hpp"
#include "support/subprocess.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using nlohmann::json;
using testing::noise_image;
using testing::tiny_vlm;

std::string base64_png(const Image& image) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto bytes = encode_png(image);
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) |
                            (i + 1 < bytes.size() ? std::uint32_t{bytes[i + 1]} << 8 : 0u) |
                            (i + 2 < bytes.size() ? std::uint32_t{bytes[i + 2]} : 0u);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

class LlamaServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::LlamaServerOptions options;
    options.model = tiny_vlm().text_model;
    options.mmproj = tiny_vlm().mmproj;
    options.n_ctx = 2048;
    options.work_dir = test::fresh_work_dir("llama-server-test");
    server_ = new test::LlamaServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static test::LlamaServer* server_;
};

test::LlamaServer* LlamaServerTest::server_ = nullptr;

TEST_F(LlamaServerTest, AnswersHealth) {
  httplib::Client client(server_->url());
  const auto res = client.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
}

TEST_F(LlamaServerTest, AnswersAChatCompletionWithTwoBase64ImagesAndLogprobs) {
  const auto ground = noise_image(64, 32, 1);
  const auto tile = noise_image(32, 32, 2);
  json content = json::array();
  content.push_back({{"type", "text"}, {"text", "Ground view:"}});
  content.push_back(
      {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + base64_png(*ground)}}}});
  content.push_back({{"type", "text"}, {"text", "Aerial tile:"}});
  content.push_back(
      {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + base64_png(*tile)}}}});
  content.push_back({{"type", "text"}, {"text", "Same place? Answer Yes or No."}});
  const json body = {{"messages", {{{"role", "user"}, {"content", content}}}},
                     {"max_tokens", 1},
                     {"temperature", 0},
                     {"logprobs", true},
                     {"top_logprobs", 5}};
  httplib::Client client(server_->url());
  client.set_read_timeout(60, 0);
  const auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  const json answer = json::parse(res->body);
  // The tiny projector turns each image into 16 tokens: both images reached the model.
  EXPECT_GT(answer["usage"]["prompt_tokens"].get<int>(), 32);
  const json& first = answer["choices"][0]["logprobs"]["content"][0];
  ASSERT_EQ(first["top_logprobs"].size(), 5u);
  double previous = 0;
  for (const auto& alt : first["top_logprobs"]) {
    const double lp = alt["logprob"].get<double>();
    EXPECT_TRUE(std::isfinite(lp));
    EXPECT_LE(lp, previous + 1e-9);  // sorted, most probable first, all <= 0
    previous = lp;
    EXPECT_TRUE(alt.contains("id"));
  }
  EXPECT_EQ(first["token"], first["top_logprobs"][0]["token"]);  // temperature 0: the argmax
}

TEST_F(LlamaServerTest, ServesTheRemoteBackendWithAllTokensShown) {
  RemoteConfig config;
  config.servers = {server_->url()};
  config.top_logprobs = 1000;  // more than the fixture's vocabulary: every token is shown
  config.max_retries = 0;
  auto backend = make_remote_backend(config);
  const JudgeIdentity id = backend->identity();
  EXPECT_EQ(id.server_model, tiny_vlm().text_model);
  EXPECT_EQ(id.remote_dialect, "llama-server");
  EXPECT_THAT(id.server_build, ::testing::StartsWith("b"));  // llama-server's /props build_info
  EXPECT_EQ(id.chat_template, "server");                     // and its chat template, hashed
  EXPECT_EQ(id.chat_template_sha256.size(), 64u);
  VlmRequest r;
  r.images = {noise_image(48, 24, 3), noise_image(32, 32, 4)};
  r.messages = {{"user", std::string("Ground ") + kMediaMarker + " tile " + kMediaMarker + " A or B?"}};
  r.choices = {"A", "B", "Yes"};
  const auto out = backend->run(std::vector{r});
  ASSERT_EQ(out.size(), 1u);
  double sum = 0;
  for (double p : out[0].probs) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_THAT(out[0].choice_not_in_top, ::testing::Each(false));
  EXPECT_GT(out[0].covered_mass, 0.0);
  EXPECT_LT(out[0].covered_mass, 1.0);
  EXPECT_GT(out[0].n_prompt_tokens, 32);
}

TEST(LlamaServer, StopsTheServerItStarted) {
  test::LlamaServerOptions options;
  options.model = tiny_vlm().text_model;
  options.n_ctx = 512;
  options.work_dir = test::fresh_work_dir("llama-server-stop");
  pid_t pid = -1;
  {
    test::LlamaServer server(options);
    pid = server.pid();
    ASSERT_GT(pid, 0);
    EXPECT_EQ(kill(pid, 0), 0);
  }
  EXPECT_NE(kill(pid, 0), 0);  // reaped: no such process
}

}  // namespace
}  // namespace georank
