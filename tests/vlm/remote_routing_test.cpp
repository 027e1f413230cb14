// The remote judge across several servers: requests follow the least outstanding, a server
// that fails is rested and its requests answered by the others, and a real llama-server killed
// mid-run loses nothing: every answer equals the one a single healthy server gives.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "georank/core/error.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/fake_openai_server.hpp"
#include "support/llama_server.hpp"
#include "tiny_vlm.hpp"

namespace georank {
namespace {

using nlohmann::json;
using test::chat_answer;
using test::FakeOpenAiServer;
using Clock = std::chrono::steady_clock;

RemoteConfig fleet(const std::vector<std::string>& urls, int max_in_flight) {
  RemoteConfig c;
  c.servers = urls;
  c.server_model = "judge";
  c.max_in_flight = max_in_flight;
  c.timeout_s = 5;
  c.max_retries = 1;
  c.backoff_base_s = 0.01;
  c.backoff_max_s = 0.02;
  c.rest_s = 0.2;
  c.dialect = RemoteDialect::openai;
  return c;
}

// Request i asks about "case i"; the fake answers P(Yes) from the number, so an answer given
// to the wrong request would show.
std::vector<VlmRequest> cases(int n) {
  std::vector<VlmRequest> batch(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    batch[i].messages = {{"user", "case " + std::to_string(i)}};
    batch[i].choices = {"Yes", "No"};
  }
  return batch;
}

void answer_case(const httplib::Request& req, httplib::Response& res) {
  const std::string text = json::parse(req.body)["messages"][0]["content"].get<std::string>();
  const double p = 0.05 + 0.9 * (std::stoi(text.substr(5)) % 17) / 16.0;
  res.set_content(chat_answer({{"Yes", std::log(p), 5}, {"No", std::log(1 - p), 6}}).dump(),
                  "application/json");
}

std::vector<double> p_yes(const std::vector<VlmResponse>& out) {
  std::vector<double> p;
  for (const auto& r : out) p.push_back(r.probs.at(0));
  return p;
}

TEST(RemoteRouting, AFasterServerTakesMoreOfTheBatch) {
  FakeOpenAiServer fast([](const httplib::Request& req, httplib::Response& res, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    answer_case(req, res);
  });
  FakeOpenAiServer slow([](const httplib::Request& req, httplib::Response& res, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    answer_case(req, res);
  });
  auto backend = make_remote_backend(fleet({slow.url(), fast.url()}, 2));
  const auto out = backend->run(cases(60));
  ASSERT_EQ(out.size(), 60u);
  EXPECT_EQ(fast.n_posts() + slow.n_posts(), 60);
  EXPECT_GT(fast.n_posts(), 4 * slow.n_posts());
  EXPECT_GT(slow.n_posts(), 0);
}

TEST(RemoteRouting, AServerThatStartsFailingIsRestedAndTheOthersAnswerEveryRequest) {
  FakeOpenAiServer good([](const httplib::Request& req, httplib::Response& res, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    answer_case(req, res);
  });
  std::atomic<bool> broken{false}, repaired{false};
  FakeOpenAiServer flaky([&](const httplib::Request& req, httplib::Response& res, int call) {
    if (call >= 4 && !repaired) broken = true;  // from its 5th request on, until repaired
    if (broken) {
      res.status = 503;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    answer_case(req, res);
  });
  auto alone = make_remote_backend(fleet({good.url()}, 2));
  const auto reference = p_yes(alone->run(cases(40)));

  auto backend = make_remote_backend(fleet({flaky.url(), good.url()}, 2));
  const auto start = Clock::now();
  const auto out = backend->run(cases(40));
  EXPECT_EQ(p_yes(out), reference);  // nothing lost, nothing changed
  EXPECT_TRUE(broken);
  // Rested after two failed requests (each tried twice), then probed about every rest: far
  // fewer than the 40 requests reached it.
  EXPECT_LT(flaky.n_posts(), 16);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);

  // It comes back: after its rest it is probed, answers, and takes work again.
  repaired = true;
  broken = false;
  const int before = flaky.n_posts();
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));  // past any rest so far
  const auto again = backend->run(cases(40));
  EXPECT_EQ(p_yes(again), reference);
  EXPECT_GT(flaky.n_posts() - before, 5);
}

TEST(RemoteRouting, WhenEveryServerFailsTheBatchFailsNamingTheLastError) {
  FakeOpenAiServer a([](const httplib::Request&, httplib::Response& res, int) { res.status = 500; });
  FakeOpenAiServer b([](const httplib::Request&, httplib::Response& res, int) { res.status = 502; });
  auto backend = make_remote_backend(fleet({a.url(), b.url()}, 1));
  try {
    backend->run(cases(3));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::backend);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("failed after 2 attempts"));
  }
}

TEST(RemoteRouting, AClientErrorIsNotMovedToAnotherServer) {
  FakeOpenAiServer a([](const httplib::Request&, httplib::Response& res, int) {
    res.status = 400;
    res.set_content("{\"error\": \"bad request\"}", "application/json");
  });
  FakeOpenAiServer b([](const httplib::Request& req, httplib::Response& res, int) { answer_case(req, res); });
  auto backend = make_remote_backend(fleet({a.url(), b.url()}, 1));
  EXPECT_THROW(backend->run(cases(1)), Error);  // the request itself is wrong: no server would take it
  EXPECT_EQ(b.n_posts(), 0);
}

TEST(RemoteRouting, ARealLlamaServerKilledMidRunLosesNothingAndChangesNoAnswer) {
  const auto start_server = [](const std::string& name) {
    test::LlamaServerOptions options;
    options.model = testing::tiny_vlm().text_model;
    options.mmproj = testing::tiny_vlm().mmproj;
    options.n_ctx = 4096;
    options.n_parallel = 2;
    options.work_dir = test::fresh_work_dir(name);
    return std::make_unique<test::LlamaServer>(options);
  };
  auto a = start_server("routing-a");
  auto b = start_server("routing-b");
  std::vector<VlmRequest> batch(48);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].images = {testing::noise_image(48, 24, static_cast<std::uint32_t>(3 * i + 1)),
                       testing::noise_image(32, 32, static_cast<std::uint32_t>(3 * i + 2))};
    batch[i].messages = {
        {"user", std::string("Ground ") + kMediaMarker + " tile " + kMediaMarker + " Same place?"}};
    batch[i].choices = {"Yes", "No"};
  }
  RemoteConfig config;
  config.servers = {a->url()};
  config.max_in_flight = 2;
  config.max_retries = 1;
  config.backoff_base_s = 0.05;
  config.backoff_max_s = 0.1;
  config.rest_s = 0.5;
  const auto t0 = Clock::now();
  const auto reference = make_remote_backend(config)->run(batch);
  const double alone_s = std::chrono::duration<double>(Clock::now() - t0).count();

  config.servers = {b->url(), a->url()};
  auto backend = make_remote_backend(config);
  std::vector<VlmResponse> out;
  std::atomic<bool> done{false};
  std::thread run([&] {
    out = backend->run(batch);
    done = true;
  });
  // Two servers take about half as long as one: a quarter of the single-server time in, the
  // run is under way on both.
  std::this_thread::sleep_for(std::chrono::duration<double>(alone_s / 4));
  const bool killed_mid_run = !done;
  ASSERT_EQ(kill(b->pid(), SIGKILL), 0);
  run.join();
  EXPECT_TRUE(killed_mid_run) << "the batch ended before the server was killed: make it larger";
  ASSERT_EQ(out.size(), reference.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t c = 0; c < 2; ++c)
      EXPECT_NEAR(out[i].logprobs.at(c), reference[i].logprobs.at(c), 1e-6) << "request " << i;
}

}  // namespace
}  // namespace georank
