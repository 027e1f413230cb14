#include "georank/data/dataset.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include "georank/core/error.hpp"
#include "georank/data/dataset_check.hpp"
#include "georank/data/geo.hpp"
#include "georank/data/vigor.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

std::string work_dir(const std::string& name) {
  const auto dir = fs::path(test::scratch_root()) / "dataset" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const std::string kPanoA = "panoA_x-1,41.8800000,-87.6300000,.jpg";
const std::string kPanoB = "panoB,41.8810000,-87.6310000,.jpg";
const std::string kT1 = "satellite_41.8800100_-87.6300100.png";
const std::string kT2 = "satellite_41.8803000_-87.6300100.png";
const std::string kT3 = "satellite_41.8800100_-87.6304000.png";
const std::string kT4 = "satellite_41.8803000_-87.6304000.png";
const std::string kNyPano = "nyp,40.7000000,-74.0000000,.jpg";
const std::string kNyTile = "satellite_40.7000100_-74.0000100.png";

// A two-city VIGOR tree: Chicago (cross-area test) and NewYork (cross-area train). `sample4geo`
// selects Sample4Geo's image layout.
std::string make_vigor(const std::string& name, bool sample4geo) {
  const fs::path root = work_dir(name);
  auto img = [&](const std::string& city, bool pano, const std::string& file) {
    const fs::path dir = sample4geo ? root / (pano ? "ground" : "satellite") / city
                                    : root / city / (pano ? "panorama" : "satellite");
    write(dir / file, "image bytes");
  };
  for (const auto& t : {kT1, kT2, kT3, kT4}) img("Chicago", false, t);
  img("Chicago", true, kPanoA);
  img("Chicago", true, kPanoB);
  img("NewYork", false, kNyTile);
  img("NewYork", true, kNyPano);
  write(root / "splits/Chicago/satellite_list.txt", kT1 + "\n" + kT2 + "\n" + kT3 + "\n" + kT4 + "\n");
  const std::string a = kPanoA + " " + kT1 + " 23.0 -11.5 " + kT2 + " 150.25 -11.5 " + kT3 + " 23.0 200.0 " +
                        kT4 + " 150.25 200.0\n";
  const std::string b =
      kPanoB + " " + kT4 + " 1.0 2.0 " + kT1 + " 3.0 4.0 " + kT2 + " 5.0 6.0 " + kT3 + " 7.0 8.0\n";
  write(root / "splits/Chicago/pano_label_balanced.txt", a + b);
  write(root / "splits/Chicago/pano_label_balanced__corrected.txt",
        kPanoA + " " + kT2 + " -1.0 -2.0 " + kT1 + " 0 0 " + kT3 + " 0 0 " + kT4 + " 0 0\n");
  write(root / "splits/Chicago/same_area_balanced_test.txt", a);
  write(root / "splits/Chicago/same_area_balanced_train.txt", b);
  write(root / "splits/NewYork/satellite_list.txt", kNyTile + "\n");
  const std::string ny = kNyPano + " " + kNyTile + " 0.0 0.0 " + kNyTile + " 0.0 0.0 " + kNyTile +
                         " 0.0 0.0 " + kNyTile + " 0.0 0.0\n";
  write(root / "splits/NewYork/pano_label_balanced.txt", ny);
  write(root / "splits/NewYork/same_area_balanced_test.txt", "");
  write(root / "splits/NewYork/same_area_balanced_train.txt", ny);
  return root.string();
}

TEST(Geo, HaversineMatchesTheSphericalLawOfCosines) {
  EXPECT_NEAR(haversine_m({0, 0}, {0, 1}), kEarthRadiusM * std::numbers::pi / 180, 1e-6);
  const LatLon a{41.8800000, -87.6300000}, b{41.8830000, -87.6263000};
  const double d = std::numbers::pi / 180;
  const double cosc = std::sin(a.lat * d) * std::sin(b.lat * d) +
                      std::cos(a.lat * d) * std::cos(b.lat * d) * std::cos((b.lon - a.lon) * d);
  EXPECT_NEAR(haversine_m(a, b), kEarthRadiusM * std::acos(cosc), 1e-3);
  EXPECT_EQ(haversine_m(a, a), 0.0);
}

TEST(Geo, OffsetInMetresIsInvertedAndAgreesWithHaversine) {
  const LatLon o{41.88, -87.63};
  const LatLon p = offset_m(o, 30.0, -40.0);
  EXPECT_NEAR(haversine_m(o, p), 50.0, 0.01);
  const auto en = east_north_m(o, p);
  EXPECT_NEAR(en.east_m, 30.0, 1e-9);
  EXPECT_NEAR(en.north_m, -40.0, 1e-9);
}

TEST(VigorNames, GpsIsParsedFromPanoramaAndTileFileNames) {
  const auto p = vigor::panorama_gps("-BAW_D9Fp4GaIA6kB1XnPg,37.785465,-122.397289,.jpg");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->lat, 37.785465);
  EXPECT_DOUBLE_EQ(p->lon, -122.397289);
  const auto t = vigor::tile_gps("satellite_41.8471539689_-87.6651058974.png");
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->lat, 41.8471539689);
  EXPECT_DOUBLE_EQ(t->lon, -87.6651058974);
  EXPECT_FALSE(vigor::panorama_gps("pano,37.7,-122.3.jpg"));  // no trailing comma
  EXPECT_FALSE(vigor::panorama_gps("pano,abc,-122.3,.jpg"));
  EXPECT_FALSE(vigor::tile_gps("satellite_41.8_x.png"));
  EXPECT_FALSE(vigor::tile_gps("tile_41.8_-87.6.png"));
  EXPECT_EQ(vigor::panorama_gps(vigor::panorama_name("id", {1.25, -2.5}))->lat, 1.25);
  EXPECT_EQ(vigor::tile_gps(vigor::tile_name({1.25, -2.5}))->lon, -2.5);
}

TEST(VigorNames, OffsetsPlaceTheCameraAtX320MinusD1AndY320PlusD0) {
  // 10 m east, 5 m north at 0.1 m/px: x = 420, y = 270 -> d1 = -100, d0 = -50.
  const auto o = vigor::offset_from_metres(10.0, 5.0, 0.1);
  EXPECT_NEAR(320 - o.d1, 420.0, 1e-9);
  EXPECT_NEAR(320 + o.d0, 270.0, 1e-9);
  const auto back = vigor::metres_from_offset(o, 0.1);
  EXPECT_NEAR(back.east_m, 10.0, 1e-12);
  EXPECT_NEAR(back.north_m, 5.0, 1e-12);
}

TEST(DatasetSpec, ParsesKindAndRootAndRejectsOthers) {
  const auto s = parse_dataset_spec("vigor:/data/VIGOR");
  EXPECT_EQ(s.kind(), "vigor");
  EXPECT_EQ(s.root(), "/data/VIGOR");
  EXPECT_EQ(parse_dataset_spec("manifest:rel/dir").kind(), "manifest");
  EXPECT_THROW(parse_dataset_spec("cvusa:/x"), Error);
  EXPECT_THROW(parse_dataset_spec("/data/VIGOR"), Error);
  EXPECT_THROW(parse_dataset_spec("vigor:"), Error);
}

class VigorReader : public ::testing::TestWithParam<bool> {};

TEST_P(VigorReader, CrossAreaTestReadsQueriesLabelsOffsetsAndGalleryInListOrder) {
  const auto root = make_vigor(GetParam() ? "s4g" : "official", GetParam());
  DatasetSpec spec = parse_dataset_spec("vigor:" + root);
  const Dataset ds = load_dataset(spec);  // SanFrancisco is absent: skipped with a warning
  ASSERT_EQ(ds.queries.size(), 2u);
  ASSERT_EQ(ds.gallery.size(), 4u);
  EXPECT_EQ(ds.gallery[0].id, kT1);
  EXPECT_EQ(ds.gallery[3].id, kT4);
  EXPECT_EQ(ds.gallery[1].city, "Chicago");
  EXPECT_DOUBLE_EQ(ds.gallery[0].m_per_px, 0.111262);
  EXPECT_DOUBLE_EQ(ds.gallery[2].center->lon, -87.6304);
  EXPECT_TRUE(fs::exists(ds.gallery[2].path)) << ds.gallery[2].path;
  const Query& a = ds.query(kPanoA);
  EXPECT_TRUE(fs::exists(a.path)) << a.path;
  EXPECT_DOUBLE_EQ(a.gps->lat, 41.88);
  EXPECT_EQ(a.positive.tile_id, kT1);
  EXPECT_DOUBLE_EQ(a.positive.d0, 23.0);
  EXPECT_DOUBLE_EQ(a.positive.d1, -11.5);
  ASSERT_EQ(a.semi_positives.size(), 3u);
  EXPECT_EQ(a.semi_positives[2].tile_id, kT4);
  EXPECT_DOUBLE_EQ(a.semi_positives[0].d0, 150.25);
  EXPECT_EQ(ds.tile_index(kT3), 2u);
  EXPECT_THROW((void)ds.tile_index("satellite_0_0.png"), Error);
}

INSTANTIATE_TEST_SUITE_P(BothTrees, VigorReader, ::testing::Values(false, true));

TEST(VigorProtocols, SplitsCitiesLabelsAndResolutionFollowTheSpec) {
  const auto root = make_vigor("protocols", false);
  DatasetSpec spec = parse_dataset_spec("vigor:" + root);
  spec.split = DatasetSplit::train;
  auto train = load_dataset(spec);
  ASSERT_EQ(train.queries.size(), 1u);
  EXPECT_EQ(train.queries[0].city, "NewYork");
  EXPECT_DOUBLE_EQ(train.gallery[0].m_per_px, 0.113248);

  spec.protocol = VigorProtocol::same_area;
  spec.split = DatasetSplit::test;
  auto same_test = load_dataset(spec);  // both cities' galleries, Chicago's same-area test line
  EXPECT_EQ(same_test.queries.size(), 1u);
  EXPECT_EQ(same_test.gallery.size(), 5u);

  spec = parse_dataset_spec("vigor:" + root);
  spec.labels = VigorLabels::corrected;
  spec.m_per_px = VigorResolution::original;
  auto corrected = load_dataset(spec);
  ASSERT_EQ(corrected.queries.size(), 1u);
  EXPECT_EQ(corrected.queries[0].positive.tile_id, kT2);
  EXPECT_DOUBLE_EQ(corrected.queries[0].positive.d0, -1.0);
  EXPECT_DOUBLE_EQ(corrected.gallery[0].m_per_px, 0.114);

  spec = parse_dataset_spec("vigor:" + root);
  spec.cities = {"Seattle"};  // named explicitly: its absence is an error
  EXPECT_THROW(load_dataset(spec), Error);
}

TEST(VigorProtocols, CorrectedLabelsAreAlsoFoundInSample4GeosSplitsCorrectedDirectory) {
  const fs::path root = make_vigor("splits_corrected", true);
  fs::create_directories(root / "splits__corrected/Chicago");
  fs::rename(root / "splits/Chicago/pano_label_balanced__corrected.txt",
             root / "splits__corrected/Chicago/pano_label_balanced__corrected.txt");
  DatasetSpec spec = parse_dataset_spec("vigor:" + root.string());
  spec.labels = VigorLabels::corrected;
  const auto ds = load_dataset(spec);
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.queries[0].positive.tile_id, kT2);
}

TEST(VigorProtocols, ATreeWithOnlySplitsCorrectedIsReadAndItsErrorsNameThatFolder) {
  // Trees prepared for corrected labels may hold every split file in splits__corrected/.
  const fs::path root = make_vigor("only_splits_corrected", true);
  fs::rename(root / "splits", root / "splits__corrected");
  DatasetSpec spec = parse_dataset_spec("vigor:" + root.string());
  spec.labels = VigorLabels::corrected;
  const auto ds = load_dataset(spec);
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.gallery.size(), 4u);

  const auto labels = root / "splits__corrected/Chicago/pano_label_balanced__corrected.txt";
  std::ofstream(labels, std::ios::app) << kPanoB << " " << kT1 << " 1\n";
  try {
    (void)load_dataset(spec);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("splits__corrected/Chicago/pano_label_balanced__corrected.txt:2:"),
              std::string::npos)
        << e.what();
  }
  const auto report = check_dataset(spec, {});
  std::string wheres;
  for (const auto& issue : report.issues) wheres += issue.where + "\n";
  EXPECT_NE(wheres.find("splits__corrected/Chicago/pano_label_balanced__corrected.txt:2"), std::string::npos)
      << wheres;
  EXPECT_EQ(wheres.find("/splits/Chicago"), std::string::npos) << wheres;
  fs::remove(labels);
  try {
    (void)load_dataset(spec);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("looked in splits/ and splits__corrected/"), std::string::npos)
        << e.what();
  }
}

TEST(VigorReader, AMalformedLabelLineIsAnErrorNamingFileAndLine) {
  const auto root = make_vigor("malformed", false);
  write(fs::path(root) / "splits/Chicago/pano_label_balanced.txt",
        kPanoA + " " + kT1 + " 1 2 " + kT2 + " 1 2 " + kT3 + " 1 2 " + kT4 + " 1 2\n" + kPanoB + " " + kT1 +
            " 1\n");
  try {
    (void)load_dataset(parse_dataset_spec("vigor:" + root));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pano_label_balanced.txt:2: expected 13 tokens"), std::string::npos)
        << e.what();
  }
}

TEST(Subset, IsDeterministicPerSeedSortedAndWithoutRepeats) {
  const auto a = subset_indices(1000, 50, 7);
  EXPECT_EQ(a, subset_indices(1000, 50, 7));
  EXPECT_NE(a, subset_indices(1000, 50, 8));
  ASSERT_EQ(a.size(), 50u);
  for (std::size_t i = 1; i < a.size(); ++i) EXPECT_LT(a[i - 1], a[i]);
  EXPECT_LT(a.back(), 1000u);
  EXPECT_EQ(subset_indices(5, 10, 1).size(), 5u);
  // Every index is drawn about equally often over many seeds (uniformity, loosely).
  std::vector<int> hits(10, 0);
  for (std::uint64_t s = 0; s < 2000; ++s)
    for (auto i : subset_indices(10, 3, s)) ++hits[i];
  for (int h : hits) EXPECT_NEAR(h, 600, 90);
}

TEST(Subset, LoadDatasetKeepsTheChosenQueriesAndTheWholeGallery) {
  const auto root = make_vigor("subset", false);
  DatasetSpec spec = parse_dataset_spec("vigor:" + root);
  spec.subset = 1;
  spec.seed = 3;
  const auto ds = load_dataset(spec);
  ASSERT_EQ(ds.queries.size(), 1u);
  EXPECT_EQ(ds.n_queries_total, 2u);
  EXPECT_EQ(ds.gallery.size(), 4u);
  const auto expected = subset_indices(2, 1, 3)[0] == 0 ? kPanoA : kPanoB;
  EXPECT_EQ(ds.queries[0].id, expected);
}

TEST(Manifest, ReadsQueriesGalleryLabelsAndAllowsMissingGps) {
  const fs::path dir = work_dir("manifest");
  write(dir / "queries.csv", "query_id,path,lat,lon\nq1,img/q1.jpg,10.5,20.5\n\"q,2\",/abs/q2.jpg,,\n");
  write(dir / "gallery.csv",
        "tile_id,path,lat,lon,m_per_px\nt1,t1.png,10.5,20.5,0.2\nt2,t2.png,,,\nt3,t3.png,1,2,0.5\n");
  write(dir / "labels.csv", "query_id,positive,semi_positives\nq1,t1,t2;t3\n\"q,2\",t2,\n");
  const auto ds = load_dataset(parse_dataset_spec("manifest:" + dir.string()));
  ASSERT_EQ(ds.queries.size(), 2u);
  EXPECT_EQ(ds.queries[0].path, (dir / "img/q1.jpg").string());
  EXPECT_DOUBLE_EQ(ds.queries[0].gps->lon, 20.5);
  EXPECT_EQ(ds.queries[1].id, "q,2");
  EXPECT_FALSE(ds.queries[1].gps.has_value());
  EXPECT_EQ(ds.queries[1].path, "/abs/q2.jpg");
  ASSERT_EQ(ds.queries[0].semi_positives.size(), 2u);
  EXPECT_EQ(ds.queries[0].semi_positives[1].tile_id, "t3");
  EXPECT_TRUE(ds.queries[1].semi_positives.empty());
  EXPECT_FALSE(ds.gallery[1].center.has_value());
  EXPECT_DOUBLE_EQ(ds.gallery[0].m_per_px, 0.2);
}

TEST(DatasetCheck, ReportsEveryMalformedLineMissingFileAndCounts) {
  const auto root = make_vigor("check", false);
  const fs::path r(root);
  write(r / "splits/Chicago/pano_label_balanced.txt",
        kPanoA + " " + kT1 + " 1 2 " + kT2 + " 1 2 " + kT3 + " 1 2 " + kT4 + " 1 2\n" +  // fine
            kPanoB + " " + kT1 + " 1\n" +                                                // 2: 5 tokens
            "\n" +                                                                       // 3: blank, ignored
            "nogps.jpg " + kT1 + " 1 2 " + kT2 + " 1 2 " + kT3 + " 1 2 " + kT4 + " 1 2\n" +       // 4: no GPS
            "p,1.0,2.0,.jpg " + kT1 + " 1 x " + kT2 + " 1 2 " + kT3 + " 1 2 " + kT4 + " 1 2\n" +  // 5: offset
            "q,1.0,2.0,.jpg satellite_9.0_9.0.png 1 2 " + kT2 + " 1 2 " + kT3 + " 1 2 " + kT4 +
            " 1 2\n");  // 6
  fs::remove(r / "Chicago/satellite" / kT3);
  const auto report = check_dataset(parse_dataset_spec("vigor:" + root));
  EXPECT_FALSE(report.clean());
  std::vector<std::string> lines;
  for (const auto& i : report.issues) lines.push_back(i.to_string());
  const std::string f = (r / "splits/Chicago/pano_label_balanced.txt").string();
  auto has = [&](const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has(f + ":2: expected 13 tokens"));
  EXPECT_TRUE(has(f + ":4: panorama name 'nogps.jpg' has no GPS"));
  EXPECT_TRUE(has(f + ":5: offset 'x'"));
  EXPECT_TRUE(has(f + ":6: tile 'satellite_9.0_9.0.png' is not in"));
  EXPECT_TRUE(has((r / "Chicago/satellite" / kT3).string() + ": file missing"));
  EXPECT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  ASSERT_EQ(report.counts.size(), 2u);  // NewYork train, Chicago test
  EXPECT_EQ(report.counts[1].city, "Chicago");
  EXPECT_EQ(report.counts[1].split, "test");
  EXPECT_EQ(report.counts[1].n_queries, 1u);
  EXPECT_EQ(report.counts[1].n_tiles, 4u);
}

TEST(DatasetCheck, ACleanTreeIsClean) {
  const auto report = check_dataset(parse_dataset_spec("vigor:" + make_vigor("check_clean", true)));
  EXPECT_TRUE(report.clean()) << report.issues.front().to_string();
  EXPECT_EQ(report.n_files_checked, 8u);
}

}  // namespace
}  // namespace georank

namespace georank {
namespace {

TEST(DatasetCheck, ListsEveryBadManifestRowWithItsLine) {
  const fs::path dir = work_dir("manifest_check");
  write(dir / "queries.csv", "query_id,path,lat,lon\nq1,q1.jpg,10,20\nq2,q2.jpg,abc,20\nq3,q3.jpg,,\n");
  write(dir / "gallery.csv", "tile_id,path,lat,lon,m_per_px\nt1,t1.png,10,20,0.1\nt2,t2.png,1,2\n");
  write(dir / "labels.csv", "query_id,positive,semi_positives\nq1,t1,t2\nq3,t9,\nq7,t1,\n");
  write(dir / "q1.jpg", "x");
  const auto report = check_dataset(parse_dataset_spec("manifest:" + dir.string()));
  std::vector<std::string> lines;
  for (const auto& i : report.issues) lines.push_back(i.to_string());
  const auto joined = ::testing::PrintToString(lines);
  auto has = [&](const std::string& s) { return joined.find(s) != std::string::npos; };
  EXPECT_TRUE(has((dir / "gallery.csv").string() + ":3: expected 5 fields, got 4")) << joined;
  EXPECT_TRUE(has((dir / "queries.csv").string() + ":3: bad GPS")) << joined;
  EXPECT_TRUE(has((dir / "labels.csv").string() + ":2: semi-positive tile 't2' is not in gallery.csv"))
      << joined;
  EXPECT_TRUE(has((dir / "labels.csv").string() + ":3: positive tile 't9'")) << joined;
  EXPECT_TRUE(has((dir / "labels.csv").string() + ":4: query_id 'q7' is not in queries.csv")) << joined;
  EXPECT_TRUE(has((dir / "t1.png").string() + ": file missing")) << joined;
  ASSERT_EQ(report.counts.size(), 1u);
  EXPECT_EQ(report.counts[0].split, "");
}

}  // namespace
}  // namespace georank

namespace georank {
namespace {

TEST(VigorReaderBom, AByteOrderMarkAtTheStartOfAListOrLabelFileIsNotPartOfTheFirstName) {
  const std::string root = make_vigor("bom", false);
  const Dataset plain = load_dataset(parse_dataset_spec("vigor:" + root));
  for (const char* file : {"splits/Chicago/satellite_list.txt", "splits/Chicago/pano_label_balanced.txt"}) {
    const fs::path p = fs::path(root) / file;
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    in.close();
    std::ofstream(p) << "\xEF\xBB\xBF" << ss.str();
  }
  const Dataset with_bom = load_dataset(parse_dataset_spec("vigor:" + root));
  ASSERT_EQ(with_bom.queries.size(), plain.queries.size());
  ASSERT_EQ(with_bom.gallery.size(), plain.gallery.size());
  EXPECT_EQ(with_bom.queries.front().id, plain.queries.front().id);
  EXPECT_EQ(with_bom.gallery.front().id, plain.gallery.front().id);
}

}  // namespace
}  // namespace georank
