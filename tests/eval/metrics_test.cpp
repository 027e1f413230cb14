#include "georank/eval/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "georank/core/error.hpp"

namespace georank {
namespace {

std::string t(int i) {
  return "t" + std::to_string(i);
}

// Gallery t0..t{n-1} on the equator, tile i at longitude i * 1e-4 degrees; every query at
// (0, 0) with positive t1 and semi-positives t2, t3, t4.
Dataset make_dataset(int n_tiles, int n_queries) {
  Dataset ds;
  for (int i = 0; i < n_tiles; ++i) {
    Tile tile;
    tile.id = t(i);
    tile.center = LatLon{0, i * 1e-4};
    ds.gallery.push_back(tile);
  }
  for (int i = 1; i <= n_queries; ++i) {
    Query q;
    q.id = "q" + std::to_string(i);
    q.gps = LatLon{0, 0};
    q.positive.tile_id = t(1);
    for (int s = 2; s <= 4; ++s) {
      TileLabel l;
      l.tile_id = t(s);
      q.semi_positives.push_back(l);
    }
    ds.queries.push_back(q);
  }
  ds.index();
  return ds;
}

QueryRanking ranking(const std::string& q, std::vector<std::pair<int, double>> list) {
  QueryRanking r{q, std::nullopt, {}};
  for (auto [tile, score] : list) {
    RankedCandidate c;
    c.tile_id = t(tile);
    c.score = score;
    r.candidates.push_back(c);
  }
  return r;
}

std::vector<std::pair<int, double>> ten_from(int first_tile, int rest_from = 5) {
  std::vector<std::pair<int, double>> l = {{first_tile, 1.0}};
  for (int i = 0; i < 9; ++i) l.push_back({rest_from + i, 0.9 - 0.01 * i});
  return l;
}

// Eight hand-made lists (gallery of 250 tiles, so R@1% means rank < floor(2.5) + 1 = 3):
//   q1 [t1 .9, t5 .8]                rank 0   VIGOR hit   S4G hit
//   q2 [t2 .9, t1 .8, t5 .7]         rank 1   VIGOR hit   S4G hit  (only a semi-positive above)
//   q3 [t5 .9, t1 .8]                rank 1   -           -
//   q4 [t5 .9, t1 .9, t6 .5]         rank 0 (tie counts for the positive)  hit  hit
//   q5 ten tiles, no t1              outside  -           -
//   q6 [t5 .9, t2 .8, t6 .7, t1 .6]  rank 3   -           -
//   q7 [t2 .9, t5 .8, t1 .7]         rank 2   VIGOR hit   -        (a non-semi tile above)
//   q8 ten tiles from t3, no t1      outside  VIGOR hit   -
std::vector<QueryRanking> eight_lists() {
  return {ranking("q1", {{1, .9}, {5, .8}}),
          ranking("q2", {{2, .9}, {1, .8}, {5, .7}}),
          ranking("q3", {{5, .9}, {1, .8}}),
          ranking("q4", {{5, .9}, {1, .9}, {6, .5}}),
          ranking("q5", ten_from(5, 6)),
          ranking("q6", {{5, .9}, {2, .8}, {6, .7}, {1, .6}}),
          ranking("q7", {{2, .9}, {5, .8}, {1, .7}}),
          ranking("q8", ten_from(3))};
}

TEST(Metrics, HandComputedRecallHitRatesAndMrrIncludingTiesAndPositivesOutsideTheList) {
  const Dataset ds = make_dataset(250, 8);
  const Metrics m = compute_metrics(eight_lists(), ds);
  EXPECT_EQ(m.n_queries, 8u);
  EXPECT_DOUBLE_EQ(*m.recall.at(1), 2.0 / 8);
  EXPECT_DOUBLE_EQ(*m.recall.at(3), 5.0 / 8);
  EXPECT_DOUBLE_EQ(*m.recall.at(5), 6.0 / 8);
  EXPECT_DOUBLE_EQ(*m.recall.at(10), 6.0 / 8);
  EXPECT_EQ(m.r_at_1pct_rank, 3u);
  EXPECT_DOUBLE_EQ(*m.r_at_1pct, 5.0 / 8);
  EXPECT_DOUBLE_EQ(*m.hit_rate, 5.0 / 8);
  EXPECT_DOUBLE_EQ(*m.hit_rate_sample4geo, 3.0 / 8);
  EXPECT_DOUBLE_EQ(*m.mrr, (1 + 0.5 + 0.5 + 1 + 0 + 0.25 + 1.0 / 3 + 0) / 8);
  EXPECT_TRUE(m.notes.empty()) << m.notes.front();
}

TEST(Metrics, MetreErrorIsTheGreatCircleDistanceToTheTopOneTileCentre) {
  const Dataset ds = make_dataset(250, 8);
  const Metrics m = compute_metrics(eight_lists(), ds);
  // Top-1 tiles: t1 t2 t5 t5 t5 t5 t2 t3; tile i lies i * 1e-4 degrees of the equator away.
  const double unit = kEarthRadiusM * 1e-4 * std::numbers::pi / 180;  // 11.1195 m
  EXPECT_NEAR(*m.meter_error.median, (3 + 5) / 2.0 * unit, 1e-6);
  EXPECT_NEAR(*m.meter_error.mean, (1 + 2 + 5 + 5 + 5 + 5 + 2 + 3) / 8.0 * unit, 1e-6);
  EXPECT_DOUBLE_EQ(*m.meter_error.accuracy_at.at(10), 0.0);
  EXPECT_DOUBLE_EQ(*m.meter_error.accuracy_at.at(25), 3.0 / 8);  // 11.1, 22.2, 22.2
  EXPECT_DOUBLE_EQ(*m.meter_error.accuracy_at.at(50), 4.0 / 8);  // + 33.4
}

TEST(Metrics, ShortListsWithoutThePositiveMakeLargerCutoffsUnknownNotZero) {
  const Dataset ds = make_dataset(1000, 2);  // R@1% needs the top 11
  const Metrics m =
      compute_metrics({ranking("q1", {{1, .9}, {5, .8}}), ranking("q2", {{5, .9}, {6, .8}})}, ds);
  EXPECT_DOUBLE_EQ(*m.recall.at(1), 0.5);
  EXPECT_FALSE(m.recall.at(3).has_value());  // q2 shows 2 of the top 3 and no positive
  EXPECT_FALSE(m.r_at_1pct.has_value());
  EXPECT_EQ(m.r_at_1pct_rank, 11u);
  EXPECT_FALSE(m.notes.empty());
}

TEST(Metrics, ACandidateOutsideTheGalleryIsAnError) {
  EXPECT_THROW(compute_metrics({ranking("q1", {{5, .9}})}, make_dataset(3, 1)), Error);
}

TEST(Metrics, MetreErrorIsUnavailableWhenAQueryHasNoGps) {
  Dataset ds = make_dataset(250, 2);
  ds.queries[1].gps.reset();
  const Metrics m = compute_metrics({ranking("q1", {{1, .9}}), ranking("q2", {{1, .9}})}, ds);
  EXPECT_FALSE(m.meter_error.median.has_value());
  EXPECT_FALSE(m.meter_error.accuracy_at.at(5).has_value());
  const auto j = to_json(m);
  EXPECT_TRUE(j["meter_error"]["median"].is_null());
  EXPECT_TRUE(j["meter_error"]["accuracy_at"]["5"].is_null());
  EXPECT_DOUBLE_EQ(j["recall"]["1"].get<double>(), 1.0);
}

TEST(Metrics, JsonHasExactlyTheDocumentedShape) {
  const auto j = to_json(compute_metrics(eight_lists(), make_dataset(250, 8)));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"hit_rate", "hit_rate_sample4geo", "meter_error", "mrr",
                                            "n_queries", "r_at_1pct", "recall"}));
  EXPECT_EQ(j["n_queries"], 8);
  std::vector<std::string> ks, ms;
  for (const auto& [k, v] : j["recall"].items()) ks.push_back(k);
  for (const auto& [k, v] : j["meter_error"]["accuracy_at"].items()) ms.push_back(k);
  std::sort(ks.begin(), ks.end());
  std::sort(ms.begin(), ms.end());
  EXPECT_EQ(ks, (std::vector<std::string>{"1", "10", "3", "5"}));
  EXPECT_EQ(ms, (std::vector<std::string>{"1", "10", "25", "5", "50"}));
  EXPECT_DOUBLE_EQ(j["recall"]["3"].get<double>(), 5.0 / 8);
  EXPECT_TRUE(j["meter_error"].contains("mean"));
}

TEST(Metrics, UnknownOrRepeatedQueriesAreErrors) {
  const Dataset ds = make_dataset(250, 2);
  EXPECT_THROW(compute_metrics({ranking("q9", {{1, .9}})}, ds), Error);
  EXPECT_THROW(compute_metrics({ranking("q1", {{1, .9}}), ranking("q1", {{1, .9}})}, ds), Error);
  MetricsConfig bad;
  bad.ks = {0};
  EXPECT_THROW(compute_metrics({ranking("q1", {{1, .9}})}, ds, bad), Error);
}

}  // namespace
}  // namespace georank
