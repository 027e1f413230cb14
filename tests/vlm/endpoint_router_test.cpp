// The remote judge's routing across servers: least outstanding requests, a failed request
// moved to another server, a failing server rested and then probed.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "vlm/endpoint_router.hpp"

namespace georank::remote {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

EndpointRouter two_endpoints(double rest_s = 0.2) {
  return EndpointRouter({"http://a", "http://b"}, RouterConfig{.failures_before_rest = 2, .rest_s = rest_s});
}

TEST(EndpointRouter, RequestsGoInOrderToTheEndpointWithFewerInFlight) {
  auto router = two_endpoints();
  router.begin(5, {3, 3});
  EXPECT_EQ(router.next(0), 0u);
  EXPECT_EQ(router.next(1), 1u);
  EXPECT_EQ(router.next(1), 2u);  // both held one: either may take the next
  // a holds 1 and b 2: b, with a free slot, waits while a has fewer in flight.
  auto waiting = std::async(std::launch::async, [&] { return router.next(1); });
  EXPECT_EQ(waiting.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(router.next(0), 3u);  // a takes it; now both hold 2
  EXPECT_EQ(waiting.get(), 4u);   // and b takes the next
  EXPECT_EQ(router.health(0).outstanding, 2u);
  EXPECT_EQ(router.health(1).outstanding, 3u);
  router.answered(0, 0);
  router.answered(1, 1);
  router.answered(1, 2);
  router.answered(0, 3);
  auto last = std::async(std::launch::async, [&] { return router.next(0); });
  EXPECT_EQ(last.wait_for(50ms), std::future_status::timeout);  // request 4 is still in flight
  router.answered(1, 4);
  EXPECT_EQ(last.get(), std::nullopt);  // all answered: the batch is over
  EXPECT_EQ(router.health(0).n_answered, 2u);
  EXPECT_EQ(router.health(1).n_answered, 3u);
}

TEST(EndpointRouter, AFailedRequestGoesToAnotherEndpointAndFailsOnlyWhenEveryOneFailedIt) {
  auto router = two_endpoints();
  router.begin(1, {1, 1});
  ASSERT_EQ(router.next(0), 0u);
  EXPECT_TRUE(router.failed(0, 0, "connection refused"));
  // a already failed it: a waits while b takes it.
  auto a = std::async(std::launch::async, [&] { return router.next(0); });
  EXPECT_EQ(a.wait_for(100ms), std::future_status::timeout);
  ASSERT_EQ(router.next(1), 0u);
  EXPECT_FALSE(router.failed(1, 0, "connection refused"));  // failed everywhere
  router.cancel();
  EXPECT_EQ(a.get(), std::nullopt);
}

TEST(EndpointRouter, OneEndpointFailsTheBatchAtItsFirstFailedRequest) {
  EndpointRouter router({"http://a"}, {});
  router.begin(2, {1});
  ASSERT_EQ(router.next(0), 0u);
  EXPECT_FALSE(router.failed(0, 0, "HTTP 503"));
}

TEST(EndpointRouter, AnEndpointThatKeepsFailingRestsThenTakesOneProbeAndRecoversOnAnAnswer) {
  auto router = two_endpoints(0.3);
  router.begin(6, {2, 2});
  ASSERT_EQ(router.next(0), 0u);
  ASSERT_EQ(router.next(1), 1u);
  ASSERT_EQ(router.next(0), 2u);
  EXPECT_TRUE(router.failed(0, 0, "HTTP 503"));
  EXPECT_FALSE(router.health(0).resting);  // one failure is not yet "keeps failing"
  EXPECT_TRUE(router.failed(0, 2, "HTTP 503"));
  EXPECT_TRUE(router.health(0).resting);
  // Resting, a takes nothing, even with b busy; b takes the requests a failed, in order.
  ASSERT_EQ(router.next(1), 0u);
  auto probe = std::async(std::launch::async, [&] { return router.next(0); });
  EXPECT_EQ(probe.wait_for(150ms), std::future_status::timeout);
  const auto start = Clock::now();
  const auto i = probe.get();  // after the rest: one probe
  EXPECT_GE(Clock::now() - start, 100ms);
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(*i, 3u);
  auto second = std::async(std::launch::async, [&] { return router.next(0); });
  EXPECT_EQ(second.wait_for(100ms), std::future_status::timeout);  // one probe at a time
  router.answered(0, *i);
  EXPECT_FALSE(router.health(0).resting);  // the probe answered: healthy again
  // and a takes work at once: request 4, since 2, which it failed, waits for b.
  EXPECT_EQ(second.get(), 4u);
  router.cancel();
  EXPECT_EQ(router.health(0).n_failed, 2u);
}

TEST(EndpointRouter, AFailedProbeRestsTheEndpointTwiceAsLong) {
  auto router = two_endpoints(0.2);
  router.begin(3, {1, 1});
  ASSERT_EQ(router.next(0), 0u);
  EXPECT_TRUE(router.failed(0, 0, "x"));
  ASSERT_EQ(router.next(0), 1u);
  EXPECT_TRUE(router.failed(0, 1, "x"));  // rested 0.2 s
  const auto first_rest = router.health(0).rest_until;
  const auto probe = router.next(0);  // after 0.2 s
  ASSERT_TRUE(probe.has_value());
  const auto failed_at = Clock::now();
  EXPECT_TRUE(router.failed(0, *probe, "x"));
  const auto h = router.health(0);
  EXPECT_TRUE(h.resting);
  EXPECT_EQ(h.n_rests, 2);
  EXPECT_GE(h.rest_until - failed_at, 350ms);  // 0.4 s this time
  EXPECT_GT(h.rest_until, first_rest);
  router.cancel();
}

}  // namespace
}  // namespace georank::remote
