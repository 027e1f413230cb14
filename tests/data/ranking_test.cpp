#include "georank/data/ranking.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

std::string work_dir(const std::string& name) {
  const auto dir = fs::path(test::scratch_root()) / "ranking" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Rankings, JsonlRoundTripKeepsOrderScoresPositionsFlagsAndEvidence) {
  const auto dir = work_dir("roundtrip");
  QueryRanking r{"p,1.0,2.0,.jpg", LatLon{1.0, 2.0}, {}};
  RankedCandidate a;
  a.tile_id = "satellite_1_2.png";
  a.score = 0.75;
  a.center = LatLon{1.0001, 2.0002};
  a.positive = true;
  RankedCandidate b;
  b.tile_id = "satellite_3_4.png";
  b.score = 0.5;
  b.semi_positive = true;
  b.baseline_rank = 0;
  b.evidence = {{"wins", 3}};
  r.candidates = {a, b};
  QueryRanking no_gps{"q2", std::nullopt, {}};
  write_rankings({r, no_gps}, dir + "/r.jsonl");
  const auto back = read_rankings(dir + "/r.jsonl");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].query_id, r.query_id);
  EXPECT_DOUBLE_EQ(back[0].gps->lon, 2.0);
  ASSERT_EQ(back[0].candidates.size(), 2u);
  EXPECT_EQ(back[0].candidates[0].tile_id, a.tile_id);
  EXPECT_DOUBLE_EQ(back[0].candidates[0].score, 0.75);
  EXPECT_DOUBLE_EQ(back[0].candidates[0].center->lat, 1.0001);
  EXPECT_TRUE(back[0].candidates[0].positive);
  EXPECT_FALSE(back[0].candidates[1].center.has_value());
  EXPECT_TRUE(back[0].candidates[1].semi_positive);
  EXPECT_EQ(back[0].candidates[1].baseline_rank, 0);
  EXPECT_EQ(back[0].candidates[1].evidence["wins"], 3);
  EXPECT_FALSE(back[1].gps.has_value());
  // One object per line with the documented keys.
  std::ifstream in(dir + "/r.jsonl");
  std::string line;
  std::getline(in, line);
  const auto j = nlohmann::json::parse(line);
  for (const char* k : {"query_id", "lat", "lon", "candidates"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"tile_id", "score", "lat", "lon", "positive", "semi_positive"})
    EXPECT_TRUE(j["candidates"][0].contains(k)) << k;
}

TEST(Rankings, MalformedLinesAreReportedWithFileAndLine) {
  const auto dir = work_dir("bad");
  std::ofstream(dir + "/a.jsonl") << R"({"query_id":"q","candidates":[]})"
                                  << "\n\n{not json}\n";
  EXPECT_NE(error_of([&] { read_rankings(dir + "/a.jsonl"); }).find("a.jsonl:3: invalid JSON"),
            std::string::npos);
  std::ofstream(dir + "/b.jsonl") << R"({"query_id":"q","candidates":[{"score":1}]})"
                                  << "\n";
  EXPECT_NE(error_of([&] {
              read_rankings(dir + "/b.jsonl");
            }).find("b.jsonl:1: candidates[0]: missing string field"),
            std::string::npos);
  std::ofstream(dir + "/c.jsonl") << R"({"query_id":"q","candidates":[]})"
                                  << "\n"
                                  << R"({"query_id":"q","candidates":[]})"
                                  << "\n";
  EXPECT_NE(error_of([&] { read_rankings(dir + "/c.jsonl"); }).find("c.jsonl:2: query \"q\" appears twice"),
            std::string::npos);
  // A number past double is nlohmann's out_of_range, not a parse_error.
  std::ofstream(dir + "/d.jsonl") << R"({"query_id":"q","candidates":[{"tile_id":"t","score":1e999}]})"
                                  << "\n";
  EXPECT_NE(error_of([&] { read_rankings(dir + "/d.jsonl"); }).find("d.jsonl:1: invalid JSON"),
            std::string::npos);
}

TEST(Rankings, ABaselineRankPastIntIsRejectedNotTruncated) {
  const auto dir = test::fresh_work_dir("ranking-baseline-rank");
  // 2^32 + 1 would truncate to rank 1.
  for (const char* rank : {"4294967297", "-1", "18446744073709551615"}) {
    std::ofstream(dir + "/r.jsonl") << R"({"query_id":"q","candidates":[{"tile_id":"t","baseline_rank":)"
                                    << rank << "}]}\n";
    EXPECT_NE(error_of([&] {
                read_rankings(dir + "/r.jsonl");
              }).find("r.jsonl:1: candidates[0]: \"baseline_rank\""),
              std::string::npos)
        << rank;
  }
}

TEST(CandidatesCsv, GroupsByQuerySortsByScoreAndKeepsFileOrderOnTies) {
  const auto dir = work_dir("csv");
  std::ofstream(dir + "/c.csv")
      << "query_id,tile_id,score\nq2,a,0.1\nq1,x,0.5\nq2,b,0.9\nq2,c,0.1\n\"q,3\",z,1e-3\n";
  const auto r = read_candidates_csv(dir + "/c.csv");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].query_id, "q2");
  ASSERT_EQ(r[0].candidates.size(), 3u);
  EXPECT_EQ(r[0].candidates[0].tile_id, "b");
  EXPECT_EQ(r[0].candidates[1].tile_id, "a");
  EXPECT_EQ(r[0].candidates[2].tile_id, "c");
  EXPECT_EQ(r[2].query_id, "q,3");
  EXPECT_DOUBLE_EQ(r[2].candidates[0].score, 1e-3);
  std::ofstream(dir + "/bad.csv") << "query_id,tile_id,score\nq,a,1\nq,b,high\n";
  EXPECT_NE(error_of([&] { read_candidates_csv(dir + "/bad.csv"); }).find("bad.csv:3: score 'high'"),
            std::string::npos);
  std::ofstream(dir + "/dup.csv") << "query_id,tile_id,score\nq,a,1\nq,a,2\n";
  EXPECT_NE(error_of([&] { read_candidates_csv(dir + "/dup.csv"); }).find("dup.csv:3:"), std::string::npos);
  // A tile id that is not UTF-8 would only fail when the rankings are written, after the work.
  std::ofstream(dir + "/latin1.csv") << "query_id,tile_id,score\nq,a,1\nq,Z\xfcrich,2\n";
  EXPECT_NE(error_of([&] { read_candidates_csv(dir + "/latin1.csv"); }).find("latin1.csv:3: not valid UTF-8"),
            std::string::npos);
}

TEST(Annotate, SetsPositionsAndLabelFlagsFromTheDataset) {
  Dataset ds;
  for (const char* id : {"a", "b", "c"}) {
    Tile t;
    t.id = id;
    t.center = LatLon{1, static_cast<double>(id[0])};
    ds.gallery.push_back(t);
  }
  Query q;
  q.id = "q";
  q.gps = LatLon{5, 6};
  q.positive.tile_id = "b";
  TileLabel semi;
  semi.tile_id = "c";
  q.semi_positives.push_back(semi);
  ds.queries.push_back(q);
  ds.index();
  std::vector<QueryRanking> r = {{"q", std::nullopt, {}}};
  for (const char* id : {"c", "a", "b"}) {
    RankedCandidate c;
    c.tile_id = id;
    r[0].candidates.push_back(c);
  }
  annotate(r, ds);
  EXPECT_DOUBLE_EQ(r[0].gps->lat, 5);
  EXPECT_TRUE(r[0].candidates[0].semi_positive);
  EXPECT_FALSE(r[0].candidates[1].positive || r[0].candidates[1].semi_positive);
  EXPECT_TRUE(r[0].candidates[2].positive);
  EXPECT_DOUBLE_EQ(r[0].candidates[2].center->lon, 'b');
  r[0].candidates[0].tile_id = "zz";
  EXPECT_THROW(annotate(r, ds), Error);
}

}  // namespace
}  // namespace georank
