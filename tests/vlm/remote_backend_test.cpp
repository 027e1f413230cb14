// The remote backend against a scripted OpenAI-compatible server: what it sends and how it
// turns the server's top log-probabilities into closed-set answers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "georank/core/error.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/fake_openai_server.hpp"
#include "vlm/remote_http.hpp"

namespace georank {
namespace {

using nlohmann::json;
using test::chat_answer;
using test::FakeOpenAiServer;

std::shared_ptr<const Image> gradient_image(int width, int height, int seed) {
  auto img = std::make_shared<Image>();
  img->width = width;
  img->height = height;
  img->rgb.resize(static_cast<std::size_t>(width * height * 3));
  for (std::size_t i = 0; i < img->rgb.size(); ++i)
    img->rgb[i] = static_cast<std::uint8_t>((i * 7 + seed * 31) % 251);
  img->finalize();
  return img;
}

RemoteConfig config_for(const std::string& url) {
  RemoteConfig c;
  c.servers = {url};
  c.server_model = "judge";
  c.max_in_flight = 1;
  c.timeout_s = 5;
  c.max_retries = 0;
  c.backoff_base_s = 0.01;
  return c;
}

VlmRequest ab_request(std::vector<std::shared_ptr<const Image>> images) {
  VlmRequest r;
  r.images = std::move(images);
  r.messages = {{"system", "You compare aerial tiles."},
                {"user", std::string("Ground: ") + kMediaMarker + " Which tile, A " + kMediaMarker +
                             " or B " + kMediaMarker + "? Answer A or B."}};
  r.choices = {"A", "B"};
  return r;
}

void respond(httplib::Response& res, const json& body) {
  res.set_content(body.dump(), "application/json");
}

TEST(RemoteBackend, SumsLeadingSpaceVariantsAndRenormalisesOverTheChoices) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    respond(res, chat_answer({{" A", std::log(0.5), 10},
                              {"B", std::log(0.2), 12},
                              {"A", std::log(0.1), 11},
                              {" The", std::log(0.05), 13}}));
  });
  auto backend = make_remote_backend(config_for(server.url()));
  const auto img = gradient_image(8, 4, 1);
  const auto out = backend->run(std::vector{ab_request({img, img, img})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0].logprobs[0], std::log(0.6), 1e-12);
  EXPECT_NEAR(out[0].logprobs[1], std::log(0.2), 1e-12);
  EXPECT_NEAR(out[0].probs[0], 0.75, 1e-12);
  EXPECT_NEAR(out[0].probs[1], 0.25, 1e-12);
  EXPECT_NEAR(out[0].covered_mass, 0.8, 1e-12);
  EXPECT_THAT(out[0].choice_not_in_top, testing::ElementsAre(false, false));
  EXPECT_EQ(out[0].n_prompt_tokens, 42);
  EXPECT_EQ(out[0].template_name, "server");
}

TEST(RemoteBackend, SendsImagesAsPngDataUrisInMarkerOrderWithLogprobsAndOneToken) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    respond(res, chat_answer({{"A", -0.1, 10}, {"B", -2.0, 11}}));
  });
  RemoteConfig config = config_for(server.url() + "/v1/");
  config.api_key = "sk-test-123";
  config.top_logprobs = 7;
  auto backend = make_remote_backend(config);
  const auto ground = gradient_image(12, 6, 1);
  const auto tile_a = gradient_image(6, 6, 2);
  const auto tile_b = gradient_image(6, 6, 3);
  backend->run(std::vector{ab_request({ground, tile_a, tile_b})});

  ASSERT_EQ(server.paths(), std::vector<std::string>{"/v1/chat/completions"});
  EXPECT_EQ(server.authorizations()[0], "Bearer sk-test-123");
  const json body = server.bodies()[0];
  EXPECT_EQ(body["model"], "judge");
  EXPECT_EQ(body["max_tokens"], 1);
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(body["logprobs"], true);
  EXPECT_EQ(body["top_logprobs"], 7);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["content"], "You compare aerial tiles.");
  const json parts = body["messages"][1]["content"];
  // text, image, text, image, text, image, text
  ASSERT_EQ(parts.size(), 7u);
  const std::vector<std::shared_ptr<const Image>> expected{ground, tile_a, tile_b};
  for (std::size_t k = 0; k < 3; ++k) {
    const json& part = parts[2 * k + 1];
    ASSERT_EQ(part["type"], "image_url");
    const std::string url = part["image_url"]["url"];
    const std::string prefix = "data:image/png;base64,";
    ASSERT_EQ(url.substr(0, prefix.size()), prefix);
    const Image decoded = decode_image(test::base64_decode(url.substr(prefix.size())), "part");
    EXPECT_EQ(decoded.width, expected[k]->width);
    EXPECT_EQ(decoded.rgb, expected[k]->rgb) << "image " << k;
  }
  EXPECT_EQ(parts[0]["text"], "Ground: ");
  EXPECT_EQ(parts[6]["text"], "? Answer A or B.");
}

TEST(RemoteBackend, ChoiceAbsentFromTheTopListIsFlooredAtTheSmallestShownAndFlagged) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    respond(res, chat_answer(
                     {{"Yes", std::log(0.7), 5}, {"Maybe", std::log(0.2), 6}, {"Never", std::log(0.01), 7}}));
  });
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r;
  r.messages = {{"user", "Is it the same place?"}};
  r.choices = {"Yes", "No"};
  const auto out = backend->run(std::vector{r});
  EXPECT_NEAR(out[0].logprobs[0], std::log(0.7), 1e-12);
  EXPECT_NEAR(out[0].logprobs[1], std::log(0.01), 1e-12);
  EXPECT_THAT(out[0].choice_not_in_top, testing::ElementsAre(false, true));
  EXPECT_NEAR(out[0].probs[0], 0.7 / 0.71, 1e-12);
}

TEST(RemoteBackend, ClampsMinusFltMaxAndNullLogprobs) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    json answer = chat_answer({{"A", 0.0, 10}, {"B", -3.4028234663852886e38, 11}, {"C", 0.0, 12}});
    answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"][2]["logprob"] = nullptr;
    respond(res, answer);
  });
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r;
  r.messages = {{"user", "Pick."}};
  r.choices = {"A", "B", "C"};
  const auto out = backend->run(std::vector{r});
  EXPECT_DOUBLE_EQ(out[0].logprobs[1], -1e4);
  EXPECT_DOUBLE_EQ(out[0].logprobs[2], -1e4);
  EXPECT_NEAR(out[0].probs[0], 1.0, 1e-12);
  EXPECT_TRUE(std::isfinite(out[0].probs[1]));
}

TEST(RemoteBackend, MultiTokenAnswersAreScoredTokenByTokenThroughAnAssistantPrefill) {
  // "10" and "12" share their first token " 1": P("10") = P(" 1") * P("0" | " 1").
  FakeOpenAiServer server([](const httplib::Request& req, httplib::Response& res, int) {
    const json body = json::parse(req.body);
    const json& last = body["messages"].back();
    if (last["role"] == "assistant" && last["content"] == "Score: 1") {
      respond(res, chat_answer({{"0", std::log(0.6), 30}, {"2", std::log(0.3), 32}}));
    } else {
      respond(res, chat_answer({{" 1", std::log(0.5), 21}, {" 3", std::log(0.4), 23}}));
    }
  });
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r;
  r.messages = {{"user", "Rate the match."}};
  r.assistant_prefill = "Score:";
  r.choices = {"10", "12", "3"};
  const auto out = backend->run(std::vector{r});
  EXPECT_NEAR(out[0].logprobs[0], std::log(0.5 * 0.6), 1e-12);
  EXPECT_NEAR(out[0].logprobs[1], std::log(0.5 * 0.3), 1e-12);
  EXPECT_NEAR(out[0].logprobs[2], std::log(0.4), 1e-12);
  // One request for the first position, one for the position after " 1".
  ASSERT_EQ(server.n_posts(), 2);
  EXPECT_EQ(server.bodies()[0]["messages"].back()["content"], "Score:");
  EXPECT_EQ(server.bodies()[1]["messages"].back()["content"], "Score: 1");
}

TEST(RemoteBackend, GeneratesThenScoresTheAnswerAfterTheGeneratedText) {
  FakeOpenAiServer server([](const httplib::Request& req, httplib::Response& res, int call) {
    const json body = json::parse(req.body);
    if (call == 0) {
      EXPECT_EQ(body["max_tokens"], 12);
      EXPECT_EQ(body["stop"], json::array({"\n\n"}));
      EXPECT_FALSE(body.contains("logprobs"));
      respond(res, chat_answer({{"The", -0.1, 1}}, "The roads match tile A."));
    } else {
      respond(res, chat_answer({{" A", std::log(0.9), 10}, {" B", std::log(0.05), 11}}));
    }
  });
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r;
  r.messages = {{"user", "Think, then answer A or B."}};
  r.generation.max_tokens = 12;
  r.generation.stop = {"\n\n"};
  r.answer_cue = "\nAnswer:";
  r.choices = {"A", "B"};
  const auto out = backend->run(std::vector{r});
  EXPECT_EQ(out[0].text, "The roads match tile A.");
  EXPECT_NEAR(out[0].probs[0], 0.9 / 0.95, 1e-12);
  ASSERT_EQ(server.n_posts(), 2);
  const json last = server.bodies()[1]["messages"].back();
  EXPECT_EQ(last["role"], "assistant");
  EXPECT_EQ(last["content"], "The roads match tile A.\nAnswer:");
}

TEST(RemoteBackend, RawPromptsUseTheServersMediaMarkerAndCompletionEndpoint) {
  FakeOpenAiServer server(
      [](const httplib::Request&, httplib::Response& res, int) {
        respond(res, test::completion_answer({{"B", std::log(0.6), 'B'}, {"A", std::log(0.3), 'A'}}, 17));
      },
      /*as_llama_server=*/true);
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r;
  const auto a = gradient_image(4, 4, 1);
  const auto b = gradient_image(4, 4, 2);
  r.images = {a, b};
  r.raw_prompt = std::string("USER: ") + kMediaMarker + kMediaMarker + " A or B? ASSISTANT:";
  r.choices = {"A", "B"};
  const auto out = backend->run(std::vector{r});
  EXPECT_NEAR(out[0].probs[1], 2.0 / 3.0, 1e-12);
  EXPECT_EQ(out[0].template_name, "raw");
  EXPECT_EQ(out[0].n_prompt_tokens, 17);
  // The fake tokeniser makes " A" two tokens (' ', 'A'); ' ' is not in the top list, so only
  // the one-token variant "A" counts, found by its id.
  EXPECT_NEAR(out[0].logprobs[0], std::log(0.3), 1e-12);
  EXPECT_THAT(out[0].choice_not_in_top, testing::ElementsAre(false, false));
  ASSERT_GE(server.paths().size(), 1u);
  EXPECT_THAT(server.paths(), testing::Each(std::string("/completion")));
  const json body = server.bodies()[0];
  EXPECT_EQ(body["prompt"]["prompt_string"], "USER: <__fake_marker__><__fake_marker__> A or B? ASSISTANT:");
  ASSERT_EQ(body["prompt"]["multimodal_data"].size(), 2u);
  EXPECT_EQ(decode_image(test::base64_decode(body["prompt"]["multimodal_data"][1]), "b").rgb, b->rgb);
  EXPECT_EQ(body["n_predict"], 1);
  EXPECT_EQ(body["n_probs"], 20);
}

TEST(RemoteBackend, AsksForTheModelNameWhenNoneIsConfigured) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    respond(res, chat_answer({{"A", -0.1, 10}}));
  });
  RemoteConfig config = config_for(server.url());
  config.server_model.clear();
  auto backend = make_remote_backend(config);
  EXPECT_EQ(backend->identity().server_model, "fake-model");
  VlmRequest r;
  r.messages = {{"user", "?"}};
  r.choices = {"A", "B"};
  backend->run(std::vector{r});
  EXPECT_EQ(server.bodies()[0]["model"], "fake-model");
}

TEST(RemoteBackend, FallsBackToFewerTopLogprobsWhenTheServerCapsThem) {
  FakeOpenAiServer server([](const httplib::Request& req, httplib::Response& res, int) {
    const json body = json::parse(req.body);
    if (body["top_logprobs"].get<int>() > 20) {
      res.status = 400;
      res.set_content(R"({"error":{"message":"top_logprobs must be <= 20"}})", "application/json");
      return;
    }
    respond(res, chat_answer({{"A", -0.1, 10}, {"B", -2.5, 11}}));
  });
  RemoteConfig config = config_for(server.url());
  config.top_logprobs = 50;
  auto backend = make_remote_backend(config);
  VlmRequest r;
  r.messages = {{"user", "?"}};
  r.choices = {"A", "B"};
  const auto out = backend->run(std::vector{r, r});
  EXPECT_NEAR(out[1].logprobs[1], -2.5, 1e-12);
  // 50 rejected once, then every request asks for 20.
  ASSERT_EQ(server.n_posts(), 3);
  EXPECT_EQ(server.bodies()[2]["top_logprobs"], 20);
}

TEST(RemoteBackend, SpreadsABatchOverAllServersWithBoundedRequestsInFlight) {
  // Each server holds its first request until a second one arrives (10 s at most), so two
  // requests in flight per server is observed, not inferred from wall-clock time.
  auto gated = [](std::atomic<int>& arrived) {
    return [&arrived](const httplib::Request&, httplib::Response& res, int) {
      ++arrived;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      respond(res, chat_answer({{"A", -0.1, 10}, {"B", -2.5, 11}}));
    };
  };
  std::atomic<int> arrived_first{0}, arrived_second{0};
  FakeOpenAiServer first(gated(arrived_first));
  FakeOpenAiServer second(gated(arrived_second));
  RemoteConfig config = config_for(first.url());
  config.servers.push_back(second.url());
  config.max_in_flight = 2;
  auto backend = make_remote_backend(config);
  VlmRequest r;
  r.messages = {{"user", "?"}};
  r.choices = {"A", "B"};
  const std::vector<VlmRequest> batch(16, r);
  const auto out = backend->run(batch);
  ASSERT_EQ(out.size(), 16u);
  for (const auto& resp : out) EXPECT_NEAR(resp.logprobs[1], -2.5, 1e-12);
  EXPECT_EQ(first.n_posts() + second.n_posts(), 16);
  EXPECT_EQ(first.max_concurrent(), 2);
  EXPECT_EQ(second.max_concurrent(), 2);
}

TEST(RemoteBackend, RejectsBadRequestsBeforeSendingAnything) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    respond(res, chat_answer({{"A", -0.1, 10}}));
  });
  auto backend = make_remote_backend(config_for(server.url()));
  VlmRequest r = ab_request({gradient_image(4, 4, 1)});  // three markers, one image
  try {
    backend->run(std::vector{r});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_THAT(e.what(), testing::HasSubstr("3 image marker(s)"));
  }
  EXPECT_EQ(server.n_posts(), 0);
}

TEST(RemoteEndpoint, AcceptsBaseUrlsWithOrWithoutV1AndRejectsMalformedOnes) {
  const auto plain = remote::parse_endpoint("http://127.0.0.1:8080");
  EXPECT_EQ(plain.scheme_host_port, "http://127.0.0.1:8080");
  EXPECT_EQ(plain.path_prefix, "");
  const auto v1 = remote::parse_endpoint("https://api.example.org/openai/v1/");
  EXPECT_EQ(v1.scheme_host_port, "https://api.example.org");
  EXPECT_EQ(v1.path_prefix, "/openai");
  for (const char* bad : {"127.0.0.1:8080", "ftp://host", "http://", "http://host:99999", "http://host:8x"}) {
    try {
      remote::parse_endpoint(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << bad;
      EXPECT_THAT(e.what(), testing::HasSubstr(bad));
    }
  }
  EXPECT_THROW(make_remote_backend(RemoteConfig{}), Error);
}

}  // namespace
}  // namespace georank
