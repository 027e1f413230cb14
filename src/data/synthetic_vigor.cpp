#include "georank/synthetic_vigor.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/synthetic_scene.hpp"
#include "georank/atomic_file.hpp"
#include "georank/error.hpp"
#include "georank/geo.hpp"
#include "georank/vigor.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// City origins near the real cities (the tiles' file names carry plausible GPS).
LatLon origin_of(const std::string& city) {
  if (city == "NewYork") return {40.7420, -73.9890};
  if (city == "Seattle") return {47.6100, -122.3350};
  if (city == "SanFrancisco") return {37.7800, -122.4100};
  return {41.8800, -87.6300};  // Chicago and anything else
}

std::string pano_id(synth::Rng& rng) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id;
  for (int i = 0; i < 22; ++i) id.push_back(kAlphabet[rng.next() % 64]);
  return id;
}

struct CityOut {
  std::size_t n_queries = 0;
  std::size_t n_tiles = 0;
};

CityOut write_city(const SyntheticVigorConfig& cfg, const std::string& city, int n_queries,
                   std::uint64_t seed) {
  const fs::path root(cfg.out_dir);
  const double m_per_px = vigor::corrected_m_per_px(city).value_or(vigor::kOriginalMPerPx);
  const double tile_m = vigor::kTilePx * m_per_px;
  const double spacing = tile_m / 2;
  const int grid = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n_queries)))) + 1;
  const double span = (grid - 1) * spacing;  // tile centres at 0, spacing, ..., span (east and north)
  const double margin = tile_m / 2 + 80;
  const synth::Scene scene = synth::make_scene(-margin, -margin, span + margin, span + margin, seed);
  const LatLon origin = origin_of(city);

  const fs::path sat_dir = root / city / "satellite";
  const fs::path pano_dir = root / city / "panorama";
  const fs::path split_dir = root / "splits" / city;
  fs::create_directories(sat_dir);
  fs::create_directories(pano_dir);
  fs::create_directories(split_dir);

  // Tiles: row-major from the south-west; the name carries the centre GPS.
  std::vector<std::string> tile_names;
  std::string list;
  for (int j = 0; j < grid; ++j)
    for (int i = 0; i < grid; ++i) {
      const LatLon c = offset_m(origin, i * spacing, j * spacing);
      const std::string name = vigor::tile_name(c);
      // Render at the centre the name states (rounded to 7 decimals) so name and pixels agree.
      const auto en = east_north_m(origin, *vigor::tile_gps(name));
      write_png(synth::render_aerial(scene, en.east_m, en.north_m, tile_m, cfg.tile_px),
                (sat_dir / name).string());
      tile_names.push_back(name);
      list += name + "\n";
    }
  write_file_atomic((split_dir / "satellite_list.txt").string(), list);

  // Panoramas on roads and sidewalks inside the tile grid (so all four covering tiles exist).
  synth::Rng rng(seed ^ 0x5bd1e995ULL);
  std::vector<std::string> label_lines;
  int attempts = 0;
  while (static_cast<int>(label_lines.size()) < n_queries) {
    if (++attempts > 200000)
      throw Error(ErrorKind::invalid_argument, "synthetic city has no room for the panoramas");
    const double e = rng.uniform(0.01, span - 0.01), n = rng.uniform(0.01, span - 0.01);
    const int ix = scene.cell_x(e), iy = scene.cell_y(n);
    const auto surf = scene.surface[scene.at(ix, iy)];
    if (surf != synth::Surface::road && surf != synth::Surface::sidewalk && surf != synth::Surface::marking)
      continue;
    const std::string name = vigor::panorama_name(pano_id(rng), offset_m(origin, e, n));
    const auto cam = east_north_m(origin, *vigor::panorama_gps(name));
    write_jpeg(synth::render_panorama(scene, cam.east_m, cam.north_m, cfg.pano_width),
               (pano_dir / name).string(), 90);

    const int i0 = std::min(static_cast<int>(cam.east_m / spacing), grid - 2);
    const int j0 = std::min(static_cast<int>(cam.north_m / spacing), grid - 2);
    struct Cand {
      int index;
      double dist;
      vigor::Offset offset;
    };
    std::vector<Cand> cands;
    for (int dj = 0; dj < 2; ++dj)
      for (int di = 0; di < 2; ++di) {
        const int idx = (j0 + dj) * grid + (i0 + di);
        const auto c = east_north_m(origin, *vigor::tile_gps(tile_names[idx]));
        const double de = cam.east_m - c.east_m, dn = cam.north_m - c.north_m;
        cands.push_back({idx, std::hypot(de, dn), vigor::offset_from_metres(de, dn, m_per_px)});
      }
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
      return std::max(std::abs(a.offset.d0), std::abs(a.offset.d1)) <
             std::max(std::abs(b.offset.d0), std::abs(b.offset.d1));
    });
    std::string line = name;
    for (const auto& c : cands)
      line += fmt::format(" {} {:.1f} {:.1f}", tile_names[c.index], c.offset.d0, c.offset.d1);
    label_lines.push_back(line);
  }
  std::string all, train, test;
  for (std::size_t k = 0; k < label_lines.size(); ++k) {
    all += label_lines[k] + "\n";
    (k % 2 == 0 ? test : train) += label_lines[k] + "\n";
  }
  for (const char* suffix : {"", "__corrected"}) {
    write_file_atomic((split_dir / fmt::format("pano_label_balanced{}.txt", suffix)).string(), all);
    write_file_atomic((split_dir / fmt::format("same_area_balanced_train{}.txt", suffix)).string(), train);
    write_file_atomic((split_dir / fmt::format("same_area_balanced_test{}.txt", suffix)).string(), test);
  }
  return {label_lines.size(), tile_names.size()};
}

}  // namespace

SyntheticVigorSummary write_synthetic_vigor(const SyntheticVigorConfig& cfg) {
  if (cfg.out_dir.empty()) throw Error(ErrorKind::invalid_argument, "synthetic dataset: --out is required");
  if (cfg.n_queries < 1 || cfg.n_queries > 100000)
    throw Error(ErrorKind::invalid_argument, "synthetic dataset: --queries must be in [1, 100000]");
  if (cfg.tile_px < 16 || cfg.tile_px > 1024 || cfg.pano_width < 32 || cfg.pano_width > 4096 ||
      cfg.pano_width % 2)
    throw Error(ErrorKind::invalid_argument,
                "synthetic dataset: tile size must be in [16, 1024], panorama width an "
                "even number in [32, 4096]");
  if (cfg.test_city == cfg.train_city)
    throw Error(ErrorKind::invalid_argument, "synthetic dataset: test and train city must differ");
  const int n_train = cfg.n_train_queries > 0 ? cfg.n_train_queries : std::max(4, cfg.n_queries / 4);
  SyntheticVigorSummary sum;
  const auto test = write_city(cfg, cfg.test_city, cfg.n_queries, cfg.seed * 2 + 1);
  const auto train = write_city(cfg, cfg.train_city, n_train, cfg.seed * 2 + 2);
  sum.n_test_queries = test.n_queries;
  sum.n_test_tiles = test.n_tiles;
  sum.n_train_queries = train.n_queries;
  sum.n_train_tiles = train.n_tiles;
  const nlohmann::json meta = {
      {"synthetic", true},
      {"note", "Procedurally generated scene; numbers measured on it say nothing about real-world accuracy."},
      {"generator", "georank fixtures dataset"},
      {"seed", cfg.seed},
      {"tile_px", cfg.tile_px},
      {"pano_width", cfg.pano_width},
      {"label_offsets_frame_px", vigor::kTilePx},
      {"test_city", {{"name", cfg.test_city}, {"queries", test.n_queries}, {"tiles", test.n_tiles}}},
      {"train_city", {{"name", cfg.train_city}, {"queries", train.n_queries}, {"tiles", train.n_tiles}}}};
  write_file_atomic((fs::path(cfg.out_dir) / "SYNTHETIC.json").string(), meta.dump(2) + "\n");
  return sum;
}

}  // namespace georank
