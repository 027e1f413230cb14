// The in-process backend and Debian's llama-server (through the remote backend) judge the
// same raw prompts and images on the tiny fixture: two independent implementations of image
// encoding, prompt evaluation and answer scoring must agree.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "georank/rerank/rerank.hpp"
#include "georank/vlm/image_layout.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/llama_server.hpp"
#include "support/subprocess.hpp"
#include "vlm/cross_check.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using testing::expect_same_generations;
using testing::expect_same_judgments;
using testing::max_prob_difference;
using testing::noise_image;
using testing::tiny_vlm;

class BackendCrossCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::LlamaServerOptions options;
    options.model = tiny_vlm().text_model;
    options.mmproj = tiny_vlm().mmproj;
    options.n_ctx = 4096;
    options.work_dir = test::fresh_work_dir("backend-cross-check");
    server_ = new test::LlamaServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static std::unique_ptr<VlmBackend> in_process() {
    LlamaConfig cfg;
    cfg.model = tiny_vlm().text_model;
    cfg.mmproj = tiny_vlm().mmproj;
    cfg.n_ctx = 4096;
    cfg.n_seq_max = 16;
    cfg.threads = 1;
    return make_llama_backend(cfg);
  }

  static std::unique_ptr<VlmBackend> remote() {
    RemoteConfig cfg;
    cfg.servers = {server_->url()};
    cfg.top_logprobs = 1000;  // more than the fixture's vocabulary: no choice is floored
    cfg.max_in_flight = 1;
    cfg.max_retries = 0;
    return make_remote_backend(cfg);
  }

  static test::LlamaServer* server_;
};

test::LlamaServer* BackendCrossCheck::server_ = nullptr;

/// `n` image markers separated by short captions.
std::string markers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(i == 0 ? "" : " then ") + "image " + kMediaMarker;
  return s;
}

std::vector<VlmRequest> requests_with_images(int n_images) {
  struct Case {
    std::string before, after;
    std::vector<std::string> choices;
  };
  const std::vector<Case> cases = {
      {"USER: Look at ", " Which tile matches, A or B?\nASSISTANT:", {"A", "B"}},
      {"USER: Is this the same place: ", "? Answer Yes or No.\nASSISTANT:", {"Yes", "No"}},
      {"USER: Rate ", " from 1 to 5.\nASSISTANT: Score:", {"1", "2", "3", "4", "5"}},
      {"Which of the candidates matches? ", "\nAnswer: the answer is", {"A", "B", "C", "D"}},
  };
  std::vector<VlmRequest> out;
  std::uint32_t seed = 100 * static_cast<std::uint32_t>(n_images);
  for (const auto& c : cases) {
    VlmRequest r;
    for (int i = 0; i < n_images; ++i) r.images.push_back(noise_image(40 + 8 * i, 32, seed++));
    r.raw_prompt = c.before + markers(n_images) + c.after;
    r.choices = c.choices;
    out.push_back(std::move(r));
  }
  return out;
}

TEST_F(BackendCrossCheck, TextOnlyRawPromptsAgreeWithinOneThousandth) {
  const auto requests = requests_with_images(0);
  expect_same_judgments(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, RawPromptsWithOneImageAgreeWithinOneThousandth) {
  const auto requests = requests_with_images(1);
  expect_same_judgments(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, RawPromptsWithTwoImagesAgreeWithinOneThousandth) {
  const auto requests = requests_with_images(2);
  expect_same_judgments(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, RawPromptsWithThreeImagesAgreeWithinOneThousandth) {
  const auto requests = requests_with_images(3);
  expect_same_judgments(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, CompositeLayoutRequestsAgree) {
  // The canvas is drawn where the prompt is rendered: the server gets the same pixels.
  std::vector<VlmRequest> requests;
  for (auto& r : requests_with_images(3))
    requests.push_back(apply_image_layout(r, {ImageLayout::composite, 64}));
  for (const auto& r : requests) ASSERT_EQ(r.images.size(), 1u);
  expect_same_judgments(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, TheBudgetAwareStrategiesRerankAlikeOnBothBackends) {
  // Adaptive, tournament and set-wise reranking of one query's top 5 through the in-process
  // engine and through llama-server: the same judgments asked, the same answers, the same order.
  QueryRanking input;
  input.query_id = "pano_cross";
  JudgeImages images;
  images.query = noise_image(64, 32, 900);
  for (int i = 0; i < 5; ++i) {
    RankedCandidate c;
    c.tile_id = "tile" + std::to_string(i);
    c.score = 1.0 - 0.1 * i;
    input.candidates.push_back(c);
    images.candidates.push_back(noise_image(32 + 4 * i, 32, 910u + static_cast<std::uint32_t>(i)));
  }
  const auto local = in_process();
  const auto served = remote();
  for (const char* name : {"adaptive", "tournament", "setwise"}) {
    SCOPED_TRACE(name);
    RerankConfig cfg;
    cfg.k = 5;
    if (std::string(name) == "setwise") {
      cfg.strategy = RerankStrategy::setwise;
      cfg.setwise_size = 3;
    } else {
      cfg.aggregate = std::string(name) == "adaptive" ? PairAggregator::adaptive : PairAggregator::tournament;
      cfg.orders = PairOrders::both;
      cfg.tournament_group = 3;
    }
    const PromptTemplate prompt = prompt_for(cfg);
    RerankStats ls, ss;
    const QueryRanking a = rerank_query(input, images, cfg, prompt, *local, &ls);
    const QueryRanking b = rerank_query(input, images, cfg, prompt, *served, &ss);
    EXPECT_GT(ls.n_judgments, 0);
    EXPECT_EQ(ls.n_judgments, ss.n_judgments);
    EXPECT_EQ(ls.n_unparsed, 0);
    ASSERT_EQ(a.candidates.size(), b.candidates.size());
    const char* key = cfg.strategy == RerankStrategy::setwise ? "sets" : "comparisons";
    for (std::size_t i = 0; i < a.candidates.size(); ++i) {
      EXPECT_EQ(a.candidates[i].tile_id, b.candidates[i].tile_id) << "position " << i;
      const auto& ea = a.candidates[i].evidence.at(key);
      const auto& eb = b.candidates[i].evidence.at(key);
      ASSERT_EQ(ea.size(), eb.size());
      for (std::size_t j = 0; j < ea.size(); ++j) {
        if (cfg.strategy == RerankStrategy::setwise) {
          EXPECT_EQ(ea[j].at("labels"), eb[j].at("labels"));
          const auto pa = ea[j].at("probs").get<std::vector<double>>();
          const auto pb = eb[j].at("probs").get<std::vector<double>>();
          ASSERT_EQ(pa.size(), pb.size());
          for (std::size_t t = 0; t < pa.size(); ++t) EXPECT_NEAR(pa[t], pb[t], 1e-3);
        } else {
          EXPECT_EQ(ea[j].at("first"), eb[j].at("first"));
          EXPECT_NEAR(ea[j].at("p_first").get<double>(), eb[j].at("p_first").get<double>(), 1e-3);
        }
      }
    }
  }
}

TEST_F(BackendCrossCheck, ChatPromptsPrefillsAndGenerationAgree) {
  // The server renders the fixture's template with its Jinja engine, the in-process backend
  // with llama.cpp's built-in vicuna: both must produce the same tokens.
  std::vector<VlmRequest> requests;
  for (int n = 0; n <= 2; ++n) {
    VlmRequest r;
    for (int i = 0; i < n; ++i) r.images.push_back(noise_image(40, 32, 7u + static_cast<std::uint32_t>(i)));
    r.messages = {{"system", "You compare places."},
                  {"user", "Look at " + markers(n) + " Which tile, A or B?"}};
    r.choices = {"A", "B"};
    requests.push_back(r);
    r.assistant_prefill = "The answer is";
    requests.push_back(r);
    r.assistant_prefill.clear();
    r.generation.max_tokens = 4;
    r.answer_cue = "\nAnswer:";
    requests.push_back(r);
  }
  expect_same_generations(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_F(BackendCrossCheck, PromptsEndingInSpacesAreScoredAsTheTextBeforeThemOnBothSides) {
  std::vector<VlmRequest> requests, trimmed;
  VlmRequest raw;
  raw.images = {noise_image(40, 32, 3)};
  raw.raw_prompt = "USER: Is this the same place: " + markers(1) + "? Answer Yes or No.\nASSISTANT: ";
  raw.choices = {"Yes", "No"};
  requests.push_back(raw);
  raw.raw_prompt->pop_back();
  trimmed.push_back(raw);
  VlmRequest chat;
  chat.images = {noise_image(40, 32, 4)};
  chat.messages = {{"user", "Look at " + markers(1) + " Which tile, A or B?"}};
  chat.choices = {"A", "B"};
  chat.assistant_prefill = "The answer is ";
  requests.push_back(chat);
  chat.assistant_prefill = "The answer is";
  trimmed.push_back(chat);
  chat.assistant_prefill.clear();
  chat.generation.max_tokens = 3;
  chat.answer_cue = "\nAnswer: ";
  requests.push_back(chat);
  chat.answer_cue = "\nAnswer:";
  trimmed.push_back(chat);
  const auto local = in_process()->run(requests);
  const auto served = remote()->run(requests);
  const auto reference = in_process()->run(trimmed);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    for (std::size_t k = 0; k < 2; ++k) {
      EXPECT_NEAR(local[i].logprobs[k], reference[i].logprobs[k], 1e-6);
      EXPECT_NEAR(served[i].logprobs[k], reference[i].logprobs[k], 1e-3);
    }
  }
}

TEST_F(BackendCrossCheck, TheComparisonCanFail) {
  // Guards the check itself: other images give other answers on both sides.
  auto requests = requests_with_images(2);
  auto swapped = requests;
  for (auto& r : swapped) std::swap(r.images[0], r.images[1]);
  EXPECT_GT(max_prob_difference(remote()->run(requests), remote()->run(swapped)), 1e-3);
}

}  // namespace
}  // namespace georank
