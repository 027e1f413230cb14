// The remote backend when servers misbehave: transient failures are retried with backoff,
// persistent ones end in an Error naming the endpoint and the status, nothing crashes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "georank/core/error.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/fake_openai_server.hpp"
#include "support/llama_server.hpp"

namespace georank {
namespace {

using nlohmann::json;
using test::chat_answer;
using test::FakeOpenAiServer;
using test::RawAction;
using test::RawTcpServer;
using Clock = std::chrono::steady_clock;

RemoteConfig config_for(const std::string& url, int max_retries) {
  RemoteConfig c;
  c.servers = {url};
  c.server_model = "judge";
  c.max_in_flight = 1;
  c.timeout_s = 2;
  c.max_retries = max_retries;
  c.backoff_base_s = 0.01;
  c.backoff_max_s = 0.05;
  c.dialect = RemoteDialect::openai;  // no /props probe: each test sees only the scoring requests
  return c;
}

VlmRequest yes_no() {
  VlmRequest r;
  r.messages = {{"user", "Same place?"}};
  r.choices = {"Yes", "No"};
  return r;
}

const json kGoodAnswer = chat_answer({{"Yes", std::log(0.8), 5}, {"No", std::log(0.1), 6}});

void respond(httplib::Response& res, const json& body) {
  res.set_content(body.dump(), "application/json");
}

/// Runs one request and returns the Error it ends in (fails the test if none).
Error run_expecting_error(VlmBackend& backend) {
  try {
    backend.run(std::vector{yes_no()});
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error(ErrorKind::backend, "none");
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(RemoteFaults, ServerErrorThenSuccessIsRetriedAndSucceeds) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int call) {
    if (call == 0) {
      res.status = 500;
      res.set_content("loading model", "text/plain");
      return;
    }
    respond(res, kGoodAnswer);
  });
  auto backend = make_remote_backend(config_for(server.url(), 2));
  const auto out = backend->run(std::vector{yes_no()});
  EXPECT_NEAR(out[0].probs[0], 0.8 / 0.9, 1e-12);
  EXPECT_EQ(server.n_posts(), 2);
}

TEST(RemoteFaults, PersistentServerErrorNamesTheEndpointStatusAndAttempts) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    res.status = 503;
    res.set_content("overloaded", "text/plain");
  });
  auto backend = make_remote_backend(config_for(server.url(), 2));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr(server.url() + "/v1/chat/completions"));
  EXPECT_THAT(e.what(), testing::HasSubstr("HTTP 503"));
  EXPECT_THAT(e.what(), testing::HasSubstr("3 attempts"));
  EXPECT_EQ(server.n_posts(), 3);
}

TEST(RemoteFaults, TooManyRequestsBacksOffExponentiallyThenSucceeds) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int call) {
    if (call < 2) {
      res.status = 429;
      res.set_content("slow down", "text/plain");
      return;
    }
    respond(res, kGoodAnswer);
  });
  RemoteConfig config = config_for(server.url(), 3);
  config.backoff_base_s = 0.2;
  config.backoff_max_s = 5;
  auto backend = make_remote_backend(config);
  const auto start = Clock::now();
  const auto out = backend->run(std::vector{yes_no()});
  // Waits of 0.2 s and 0.4 s, each scaled by a jitter factor in [0.5, 1]: at least 0.3 s. The
  // upper bound only tells them from waits of backoff_max_s (5 s each); a loaded machine may
  // add seconds, never ten.
  EXPECT_GE(seconds_since(start), 0.3);
  EXPECT_LT(seconds_since(start), 9.0);
  EXPECT_EQ(server.n_posts(), 3);
  EXPECT_NEAR(out[0].logprobs[1], std::log(0.1), 1e-12);
}

TEST(RemoteFaults, RetryAfterOfA429IsHonoured) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int call) {
    if (call == 0) {
      res.status = 429;
      res.set_header("Retry-After", "0.4");
      return;
    }
    respond(res, kGoodAnswer);
  });
  RemoteConfig config = config_for(server.url(), 1);
  config.backoff_max_s = 5;
  auto backend = make_remote_backend(config);
  const auto start = Clock::now();
  backend->run(std::vector{yes_no()});
  EXPECT_GE(seconds_since(start), 0.38);
}

TEST(RemoteFaults, ServerHangingPastTheTimeoutEndsInATimeoutError) {
  FakeOpenAiServer server([&](const httplib::Request&, httplib::Response& res, int) {
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < until && !server.stopping().load())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    respond(res, kGoodAnswer);
  });
  RemoteConfig config = config_for(server.url(), 1);
  config.timeout_s = 0.3;
  auto backend = make_remote_backend(config);
  const auto start = Clock::now();
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::timeout);
  EXPECT_THAT(e.what(), testing::HasSubstr(server.url()));
  EXPECT_THAT(e.what(), testing::HasSubstr("no answer within 0.3 s"));
  EXPECT_THAT(e.what(), testing::HasSubstr("2 attempts"));
  EXPECT_LT(seconds_since(start), 30.0);  // well before the server's answer (60 s)
}

TEST(RemoteFaults, ConnectionResetIsRetriedAndTheNextAnswerIsUsed) {
  RawTcpServer server(
      [](int connection) { return connection == 0 ? RawAction::reset : RawAction::respond_ok_json; },
      kGoodAnswer.dump());
  auto backend = make_remote_backend(config_for(server.url(), 2));
  const auto out = backend->run(std::vector{yes_no()});
  EXPECT_NEAR(out[0].probs[0], 0.8 / 0.9, 1e-12);
  EXPECT_EQ(server.n_connections(), 2);
}

TEST(RemoteFaults, ConnectionsClosedWithoutAnswerEndInAnErrorNamingTheEndpoint) {
  RawTcpServer server(
      [](int connection) { return connection % 2 == 0 ? RawAction::close : RawAction::reset; });
  auto backend = make_remote_backend(config_for(server.url(), 2));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr(server.url()));
  EXPECT_THAT(e.what(), testing::HasSubstr("connection failed"));
  EXPECT_EQ(server.n_connections(), 3);
}

TEST(RemoteFaults, NobodyListeningEndsInAnErrorNamingTheEndpoint) {
  const std::string url = "http://127.0.0.1:" + std::to_string(test::unused_port());
  auto backend = make_remote_backend(config_for(url, 1));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr(url + "/v1/chat/completions"));
  EXPECT_THAT(e.what(), testing::HasSubstr("connection failed"));
}

TEST(RemoteFaults, MalformedJsonIsRetriedThenReported) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    res.set_content(R"({"choices": [{"message": )", "application/json");
  });
  auto backend = make_remote_backend(config_for(server.url(), 2));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr(server.url()));
  EXPECT_THAT(e.what(), testing::HasSubstr("malformed JSON"));
  EXPECT_EQ(server.n_posts(), 3);
}

TEST(RemoteFaults, ANumberPastDoubleIsMalformedJsonNotACrash) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    res.set_content(R"({"choices": [{"message": {"content": "Yes"}, "logprobs": 1e999}]})",
                    "application/json");
  });
  auto backend = make_remote_backend(config_for(server.url(), 1));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr("malformed JSON"));
}

TEST(RemoteFaults, MalformedJsonOnceThenGoodAnswerSucceeds) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int call) {
    if (call == 0) {
      res.set_content("<html>proxy error</html>", "text/html");
      return;
    }
    respond(res, kGoodAnswer);
  });
  auto backend = make_remote_backend(config_for(server.url(), 1));
  EXPECT_NEAR(backend->run(std::vector{yes_no()})[0].probs[0], 0.8 / 0.9, 1e-12);
}

TEST(RemoteFaults, AnswerWithoutLogprobsIsRetriedThenReported) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    json answer = kGoodAnswer;
    answer["choices"][0].erase("logprobs");
    respond(res, answer);
  });
  auto backend = make_remote_backend(config_for(server.url(), 1));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr(server.url()));
  EXPECT_THAT(e.what(), testing::HasSubstr("no log-probabilities"));
  EXPECT_EQ(server.n_posts(), 2);
}

TEST(RemoteFaults, ClientErrorsAreNotRetriedAndNameTheStatus) {
  FakeOpenAiServer server([](const httplib::Request&, httplib::Response& res, int) {
    res.status = 401;
    res.set_content(R"({"error":{"message":"invalid api key"}})", "application/json");
  });
  auto backend = make_remote_backend(config_for(server.url(), 3));
  const Error e = run_expecting_error(*backend);
  EXPECT_EQ(e.kind(), ErrorKind::backend);
  EXPECT_THAT(e.what(), testing::HasSubstr("HTTP 401"));
  EXPECT_THAT(e.what(), testing::HasSubstr("invalid api key"));
  EXPECT_EQ(server.n_posts(), 1);
}

TEST(RemoteFaults, OneFailingRequestStopsTheBatchWithoutCrashing) {
  FakeOpenAiServer server([](const httplib::Request& req, httplib::Response& res, int) {
    if (json::parse(req.body)["messages"][0]["content"] == "poison") {
      res.status = 500;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    respond(res, kGoodAnswer);
  });
  RemoteConfig config = config_for(server.url(), 1);
  config.max_in_flight = 3;
  auto backend = make_remote_backend(config);
  std::vector<VlmRequest> batch(30, yes_no());
  batch[4].messages[0].content = "poison";
  EXPECT_THROW(backend->run(batch), Error);
  // The backend is still usable afterwards.
  EXPECT_EQ(backend->run(std::vector{yes_no()}).size(), 1u);
}

}  // namespace
}  // namespace georank
