#pragma once
/// Cross-view datasets: ground queries with their positive / semi-positive aerial tiles and
/// the aerial gallery. Readers: VIGOR (official and Sample4Geo trees) and a CSV manifest.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "georank/geo.hpp"

namespace georank {

/// An aerial tile of the gallery.
struct Tile {
  std::string id;                ///< VIGOR: the file name ("satellite_<lat>_<lon>.png")
  std::string path;              ///< absolute or dataset-relative image path
  std::optional<LatLon> center;  ///< tile centre
  double m_per_px = 0;           ///< ground resolution, metres per pixel (0: unknown)
  std::string city;              ///< VIGOR city, empty otherwise
};

/// A labelled tile of a query: the positive or a semi-positive, with the camera's pixel
/// offset inside it (VIGOR: camera at x = 320 - d1, y = 320 + d0).
struct TileLabel {
  std::string tile_id;
  double d0 = 0;
  double d1 = 0;
};

/// A ground-level query (panorama or photo).
struct Query {
  std::string id;  ///< VIGOR: the panorama file name
  std::string path;
  std::optional<LatLon> gps;  ///< camera position
  TileLabel positive;
  std::vector<TileLabel> semi_positives;
  std::string city;
};

/// Which data to read. Parsed from `--dataset vigor:ROOT | manifest:DIR` and the flags
/// `--protocol`, `--split`, `--cities`, `--subset`, `--seed`, `--labels`, `--m-per-px`.
struct DatasetSpec {
  std::string kind;  ///< "vigor" or "manifest"
  std::string root;
  std::string protocol = "cross-area";  ///< VIGOR: "same-area" or "cross-area"
  std::string split = "test";           ///< "train" or "test"
  std::vector<std::string> cities;      ///< empty: the protocol's cities for the split
  bool corrected_labels = false;        ///< VIGOR: the "__corrected" label files
  bool original_m_per_px = false;       ///< VIGOR: 0.114 m/px instead of per-city values
  std::int64_t subset = 0;              ///< 0: all queries; else a deterministic subset
  std::uint64_t seed = 0;               ///< subset seed
};

struct Dataset {
  DatasetSpec spec;
  std::vector<Query> queries;
  std::vector<Tile> gallery;  ///< gallery order is the tile index (VIGOR: satellite_list order)

  /// Index of a tile id in `gallery`; throws Error(not_found).
  [[nodiscard]] std::size_t tile_index(const std::string& tile_id) const;
  /// Query by id; throws Error(not_found).
  [[nodiscard]] const Query& query(const std::string& query_id) const;

  std::unordered_map<std::string, std::size_t> tile_by_id;
  std::unordered_map<std::string, std::size_t> query_by_id;
};

/// Parses "vigor:ROOT" / "manifest:DIR" into kind and root (other fields keep defaults).
DatasetSpec parse_dataset_spec(const std::string& text);
/// Reads a dataset; throws Error with file:line for malformed input.
Dataset load_dataset(const DatasetSpec& spec);

}  // namespace georank
