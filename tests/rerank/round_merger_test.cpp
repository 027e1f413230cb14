// Several queries at once (`query_batch`): the rankings of one query at a time, in fewer and
// fuller judge calls, the judge never called from two threads at once; errors reach the caller.

#include <gtest/gtest.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/run.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "rerank/round_merger.hpp"
#include "support/fake_openai_server.hpp"
#include "support/tiny_image.hpp"

namespace georank {
namespace {

std::shared_ptr<const Image> solid(int a, int b) {
  return test::image_of(1, 1, {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), 9});
}

// Records every call the merged rounds make and fails the test on a concurrent one.
class RecordingBackend final : public VlmBackend {
 public:
  explicit RecordingBackend(VlmBackend& inner, int fail_on_call = -1)
      : inner_(inner), fail_on_(fail_on_call) {}
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    EXPECT_FALSE(in_call_.exchange(true)) << "the judge was called from two threads at once";
    const int call = n_calls++;
    max_requests = std::max(max_requests, static_cast<int>(requests.size()));
    std::vector<VlmResponse> out;
    try {
      if (call == fail_on_) throw Error(ErrorKind::backend, "judge down");
      out = inner_.run(requests);
    } catch (...) {
      in_call_ = false;
      throw;
    }
    in_call_ = false;
    return out;
  }
  JudgeIdentity identity() const override { return inner_.identity(); }
  std::string name() const override { return inner_.name(); }
  int n_calls = 0;
  int max_requests = 0;

 private:
  VlmBackend& inner_;
  int fail_on_;
  std::atomic<bool> in_call_{false};
};

struct Scene {
  std::vector<QueryRanking> input;
  std::unordered_map<std::string, double> quality;
  RerankImages images;
};

Scene scene(int n_queries, int n_candidates) {
  Scene s;
  for (int q = 0; q < n_queries; ++q) {
    QueryRanking r;
    r.query_id = fmt::format("q{}", q);
    for (int i = 0; i < n_candidates; ++i) {
      RankedCandidate c;
      c.tile_id = fmt::format("{}-{}", q, i);
      r.candidates.push_back(c);
      // the true match sits at a different depth per query: rounds end at different times
      s.quality[solid(q, i)->id] = i == (q % n_candidates) ? 0.9 : 0.1 + 0.05 * i;
    }
    s.input.push_back(r);
  }
  s.images.query = [](const QueryRanking& r) { return solid(std::stoi(r.query_id.substr(1)), 200); };
  s.images.tile = [](const RankedCandidate& c) {
    const auto dash = c.tile_id.find('-');
    return solid(std::stoi(c.tile_id.substr(0, dash)), std::stoi(c.tile_id.substr(dash + 1)));
  };
  return s;
}

std::vector<std::string> order_and_evidence(const RerankRunResult& r) {
  std::vector<std::string> out;
  for (const auto& q : r.rankings) {
    std::string line = q.query_id + ":";
    for (const auto& c : q.candidates) line += " " + c.tile_id + " " + c.evidence.dump();
    out.push_back(line);
  }
  return out;
}

TEST(RoundMerger, SeveralQueriesAtOnceGiveTheSameRankingsInFewerFullerJudgeCalls) {
  const Scene s = scene(10, 6);
  SimulatedJudgeParams params;
  params.judge_accuracy = 0.8;  // wrong answers too: the aggregators take other paths
  params.position_bias = 0.1;
  SimulatedBackend judge(s.quality, params);
  for (const auto aggregate :
       {PairAggregator::knockout, PairAggregator::adaptive, PairAggregator::all_pairs_bt}) {
    RerankConfig cfg;
    cfg.k = 6;
    cfg.aggregate = aggregate;
    SCOPED_TRACE(to_string(aggregate));
    const PromptTemplate prompt = prompt_for(cfg);
    RecordingBackend one_by_one(judge);
    const auto single = rerank_all(s.input, s.images, cfg, prompt, one_by_one, nullptr);

    cfg.query_batch = 4;
    RecordingBackend merged(judge);
    std::vector<std::int64_t> done;
    const auto batched = rerank_all(s.input, s.images, cfg, prompt, merged, nullptr,
                                    [&](const RerankProgress& p) { done.push_back(p.done); });
    EXPECT_EQ(order_and_evidence(batched), order_and_evidence(single));
    EXPECT_EQ(batched.stats.n_judgments, single.stats.n_judgments);
    EXPECT_EQ(batched.stats.n_rounds, single.stats.n_rounds);
    EXPECT_EQ(batched.stats.n_queries, 10);
    EXPECT_EQ(batched.backend_calls, single.backend_calls);
    // 4 queries' rounds share a call: at least 2.5x fewer calls than one query at a time
    EXPECT_LE(merged.n_calls * 5, one_by_one.n_calls * 2) << merged.n_calls << " vs " << one_by_one.n_calls;
    EXPECT_GT(merged.max_requests, one_by_one.max_requests);
    ASSERT_EQ(done.size(), 11u);  // once per query, once at the end
    EXPECT_TRUE(std::is_sorted(done.begin(), done.end()));
    EXPECT_EQ(done.back(), 10);

    // the same merged calls for the same run
    RecordingBackend again(judge);
    const auto repeat = rerank_all(s.input, s.images, cfg, prompt, again, nullptr);
    EXPECT_EQ(again.n_calls, merged.n_calls);
    EXPECT_EQ(order_and_evidence(repeat), order_and_evidence(single));
  }
}

TEST(RoundMerger, MoreWorkersThanQueriesAndOneQueryBothWork) {
  const Scene s = scene(3, 5);
  SimulatedJudgeParams params;
  SimulatedBackend judge(s.quality, params);
  RerankConfig cfg;
  cfg.aggregate = PairAggregator::knockout;
  const PromptTemplate prompt = prompt_for(cfg);
  const auto single = rerank_all(s.input, s.images, cfg, prompt, judge, nullptr);
  cfg.query_batch = 16;
  EXPECT_EQ(order_and_evidence(rerank_all(s.input, s.images, cfg, prompt, judge, nullptr)),
            order_and_evidence(single));
  const std::vector<QueryRanking> first(s.input.begin(), s.input.begin() + 1);
  EXPECT_EQ(rerank_all(first, s.images, cfg, prompt, judge, nullptr).rankings.size(), 1u);
}

TEST(RoundMerger, AFailingMergedCallReachesTheCallerWithoutHangingAWorker) {
  const Scene s = scene(9, 5);
  SimulatedJudgeParams params;
  SimulatedBackend judge(s.quality, params);
  RerankConfig cfg;
  cfg.aggregate = PairAggregator::knockout;
  cfg.query_batch = 3;
  const PromptTemplate prompt = prompt_for(cfg);
  for (const int fail_on : {0, 2, 5}) {
    RecordingBackend failing(judge, fail_on);
    try {
      rerank_all(s.input, s.images, cfg, prompt, failing, nullptr);
      FAIL() << "expected the judge's error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::backend);
      EXPECT_NE(std::string(e.what()).find("judge down"), std::string::npos);
    }
  }
}

TEST(RoundMerger, ARemoteJudgeGetsSeveralQueriesRequestsInFlight) {
  // A server that takes 30 ms per request, whatever the load (a GPU server's regime), and
  // answers from the request's content: the same rankings whatever the batching.
  test::FakeOpenAiServer server([](const httplib::Request& req, httplib::Response& res, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    const double p = 0.1 + 0.8 * static_cast<double>(std::hash<std::string>{}(req.body) % 1000) / 1000.0;
    res.set_content(test::chat_answer({{"A", std::log(p), 5}, {"B", std::log(1 - p), 6}}).dump(),
                    "application/json");
  });
  RemoteConfig rc;
  rc.servers = {server.url()};
  rc.server_model = "judge";
  rc.dialect = RemoteDialect::openai;
  rc.max_in_flight = 8;
  rc.max_retries = 0;
  const auto judge = make_remote_backend(rc);
  const Scene s = scene(8, 5);
  RerankConfig cfg;
  cfg.aggregate = PairAggregator::knockout;  // small rounds: 4 requests, then 2
  const PromptTemplate prompt = prompt_for(cfg);
  const auto timed = [&](int query_batch) {
    cfg.query_batch = query_batch;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = rerank_all(s.input, s.images, cfg, prompt, *judge, nullptr);
    return std::make_pair(std::move(r),
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  const auto [single, single_s] = timed(1);
  const int single_peak = server.max_concurrent();
  const auto [merged, merged_s] = timed(4);
  EXPECT_EQ(order_and_evidence(merged), order_and_evidence(single));
  EXPECT_LE(single_peak, 4);              // a knockout round of 5: two matches, both orders
  EXPECT_EQ(server.max_concurrent(), 8);  // 4 queries' rounds: the whole max_in_flight
  EXPECT_LT(merged_s, 0.6 * single_s) << merged_s << " s against " << single_s << " s";
  std::printf("8 queries, knockout both orders, 30 ms per request: query_batch 1 %.2f s, 4 %.2f s\n",
              single_s, merged_s);
}

TEST(RoundMerger, QueryBatchOutsideItsRangeIsRejected) {
  RerankConfig cfg;
  cfg.query_batch = 0;
  EXPECT_THROW(validate(cfg), Error);
  cfg.query_batch = 1025;
  EXPECT_THROW(validate(cfg), Error);
  cfg.query_batch = 8;
  EXPECT_NO_THROW(validate(cfg));
}

}  // namespace
}  // namespace georank
