#pragma once
/// A small synthetic dataset in the official VIGOR tree and label format, rendered from one
/// procedural 2.5-D scene per city so that each panorama really is consistent with its tiles.
/// For tests and demos: its images are synthetic and say nothing about real-world accuracy.

#include <cstddef>
#include <cstdint>
#include <string>

namespace georank {

struct SyntheticVigorConfig {
  std::string out_dir;                 ///< created; existing files are overwritten
  int n_queries = 40;                  ///< panoramas of the test city
  int n_train_queries = 0;             ///< panoramas of the train city (0: max(4, n_queries / 4))
  std::uint64_t seed = 0;              ///< everything is a pure function of the config
  int tile_px = 128;                   ///< aerial tile side in pixels (VIGOR: 640)
  int pano_width = 256;                ///< panorama width; height = width / 2 (VIGOR: 2048)
  std::string test_city = "Chicago";   ///< a cross-area test city
  std::string train_city = "NewYork";  ///< a cross-area train city
};

/// What was written.
struct SyntheticVigorSummary {
  std::size_t n_test_queries = 0;
  std::size_t n_train_queries = 0;
  std::size_t n_test_tiles = 0;
  std::size_t n_train_tiles = 0;
};

/// Writes `<out>/<City>/{panorama,satellite}/...` and `<out>/splits/<City>/{satellite_list.txt,
/// pano_label_balanced.txt, same_area_balanced_{train,test}.txt}` plus the `__corrected`
/// label files (identical: the offsets are exact) for both cities, and `<out>/SYNTHETIC.json`
/// describing the generation.
///
/// Geometry: tiles cover 640 px x the city's corrected m/px on the ground (as in VIGOR) but
/// are stored at `tile_px`; label offsets are in VIGOR's 640-px frame. Tile centres form a
/// grid with half-tile spacing (neighbours overlap by half), so every panorama lies in four
/// tiles: the positive (nearest centre, |offsets| <= 160 px) and three semi-positives.
/// Panoramas are north-centred equirectangular renders 2.5 m above a road or sidewalk.
/// Throws Error(invalid_argument) for sizes out of range, Error(io) when writing fails.
SyntheticVigorSummary write_synthetic_vigor(const SyntheticVigorConfig& config);

}  // namespace georank
