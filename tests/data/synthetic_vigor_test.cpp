#include "georank/synthetic_vigor.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "georank/dataset.hpp"
#include "georank/dataset_check.hpp"
#include "georank/image.hpp"
#include "georank/sha256.hpp"
#include "georank/vigor.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

std::string work_dir(const std::string& name) {
  const auto dir = fs::path(test::scratch_root()) / "synthetic" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// Runs a shell command, returning its exit status and stdout.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  std::array<char, 4096> buf{};
  while (p && std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& small_dataset() {
  static const std::string dir = test::shared_fixture("synthetic-small-5", [](const std::string& tmp) {
    SyntheticVigorConfig cfg;
    cfg.out_dir = tmp;
    cfg.n_queries = 12;
    cfg.seed = 5;
    write_synthetic_vigor(cfg);
  });
  return dir;
}

TEST(SyntheticVigor, IsAValidCleanCrossAreaDatasetWithFourCoveringTilesPerQuery) {
  const auto root = small_dataset();
  EXPECT_TRUE(check_dataset(parse_dataset_spec("vigor:" + root), {.decode_images = true}).clean());
  const Dataset test = load_dataset(parse_dataset_spec("vigor:" + root));
  ASSERT_EQ(test.queries.size(), 12u);
  EXPECT_EQ(test.gallery.size(), 25u);  // (ceil(sqrt(12)) + 1)^2
  for (const auto& q : test.queries) {
    EXPECT_EQ(q.city, "Chicago");
    ASSERT_EQ(q.semi_positives.size(), 3u);
    // The positive is the nearest tile: the camera lies in its central quarter.
    EXPECT_LE(std::abs(q.positive.d0), 160.0 + 0.1);
    EXPECT_LE(std::abs(q.positive.d1), 160.0 + 0.1);
    const double mpp = test.gallery[test.tile_index(q.positive.tile_id)].m_per_px;
    for (const auto& l : q.semi_positives) {
      EXPECT_LT(std::max(std::abs(l.d0), std::abs(l.d1)), 320.0 + 0.1);
      EXPECT_GT(std::max(std::abs(l.d0), std::abs(l.d1)), 160.0 - 0.1);
    }
    // The offsets agree with the GPS in the file names.
    for (const auto* l : {&q.positive, &q.semi_positives[0]}) {
      const auto& tile = test.gallery[test.tile_index(l->tile_id)];
      const auto en = vigor::metres_from_offset({l->d0, l->d1}, mpp);
      EXPECT_NEAR(haversine_m(*q.gps, *tile.center), std::hypot(en.east_m, en.north_m), 0.1);
    }
  }
  DatasetSpec train = parse_dataset_spec("vigor:" + root);
  train.split = "train";
  EXPECT_EQ(load_dataset(train).queries.size(), 4u);
}

TEST(SyntheticVigor, TheGroundUnderTheCameraHasTheColourOfThePositiveTileAtTheLabelOffset) {
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + small_dataset()));
  int agree = 0;
  for (const auto& q : ds.queries) {
    const Image pano = load_image(q.path);
    const Image tile = load_image(ds.gallery[ds.tile_index(q.positive.tile_id)].path);
    const double scale = tile.width / vigor::kTilePx;
    const int x = static_cast<int>((320 - q.positive.d1) * scale),
              y = static_cast<int>((320 + q.positive.d0) * scale);
    int diff = 0;
    for (int k = 0; k < 3; ++k) {
      const int a =
          pano.rgb[(static_cast<std::size_t>(pano.height - 1) * pano.width + pano.width / 2) * 3 + k];
      const int b = tile.rgb[(static_cast<std::size_t>(y) * tile.width + x) * 3 + k];
      diff = std::max(diff, std::abs(a - b));
    }
    agree += diff < 40;
  }
  EXPECT_GE(agree, 10) << "of 12 queries";
}

TEST(SyntheticVigor, IsAPureFunctionOfTheSeed) {
  const auto a = work_dir("seed_a"), b = work_dir("seed_b"), c = work_dir("seed_c");
  SyntheticVigorConfig cfg;
  cfg.n_queries = 3;
  cfg.n_train_queries = 1;
  cfg.out_dir = a;
  write_synthetic_vigor(cfg);
  cfg.out_dir = b;
  write_synthetic_vigor(cfg);
  cfg.out_dir = c;
  cfg.seed = 1;
  write_synthetic_vigor(cfg);
  const auto labels = "splits/Chicago/pano_label_balanced.txt";
  EXPECT_EQ(read_text(fs::path(a) / labels), read_text(fs::path(b) / labels));
  EXPECT_NE(read_text(fs::path(a) / labels), read_text(fs::path(c) / labels));
  const auto first_tile = read_text(fs::path(a) / "splits/Chicago/satellite_list.txt").substr(0, 36);
  EXPECT_EQ(sha256_file((fs::path(a) / "Chicago/satellite" / first_tile).string()),
            sha256_file((fs::path(b) / "Chicago/satellite" / first_tile).string()));
}

TEST(DatasetCheckCli, ReportsEveryMalformedLineOfABrokenCopyWithItsLineNumber) {
  const auto dir = work_dir("broken");
  const std::string cli = GEORANK_CLI_PATH;
  ASSERT_EQ(run(cli + " fixtures dataset --out " + dir + " --queries 6 --seed 2").first, 0);
  auto [clean_rc, clean_out] = run(cli + " dataset check --dataset vigor:" + dir);
  EXPECT_EQ(clean_rc, 0) << clean_out;

  // Break lines 2, 4 and 5 of the test city's labels in three different ways.
  const fs::path labels = fs::path(dir) / "splits/Chicago/pano_label_balanced.txt";
  std::istringstream in(read_text(labels));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 6u);
  lines[1] = lines[1].substr(0, lines[1].rfind(' '));            // 12 tokens
  lines[3] = lines[3].substr(0, lines[3].rfind(' ')) + " 1.5x";  // an offset that is not a number
  lines[4].replace(lines[4].find(",.jpg"), 5, ".jpg");           // no trailing comma: no GPS
  std::ofstream out(labels);
  for (const auto& l : lines) out << l << "\n";
  out.close();
  auto [rc, text] = run(cli + " dataset check --dataset vigor:" + dir);
  EXPECT_EQ(rc, 2);  // not clean: bad input (README, "Exit codes")
  const auto f = labels.string();
  EXPECT_NE(text.find(f + ":2: expected 13 tokens"), std::string::npos) << text;
  EXPECT_NE(text.find(f + ":4: offset"), std::string::npos) << text;
  EXPECT_NE(text.find(f + ":5: panorama name"), std::string::npos) << text;
  EXPECT_EQ(text.find(f + ":1:"), std::string::npos) << text;
  EXPECT_NE(text.find("3 malformed lines, 0 missing"), std::string::npos) << text;
}

}  // namespace
}  // namespace georank
