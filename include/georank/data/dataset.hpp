#pragma once
/// Cross-view datasets: ground queries with their positive / semi-positive aerial tiles and
/// the aerial gallery. Readers: VIGOR (official and Sample4Geo trees) and a CSV manifest.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/data/geo.hpp"

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

/// The spec as JSON (every field), as recorded in output sidecars and reports.
nlohmann::json to_json(const DatasetSpec& spec);

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
  /// Queries before the subset was taken (equals queries.size() without a subset).
  std::size_t n_queries_total = 0;

  /// Rebuilds `tile_by_id` and `query_by_id`; throws Error(invalid_argument) on duplicates.
  void index();
};

/// Parses "vigor:ROOT" / "manifest:DIR" into kind and root (other fields keep defaults).
/// Throws Error(invalid_argument) for another prefix or an empty root.
DatasetSpec parse_dataset_spec(const std::string& text);

/// Reads a dataset; throws Error with file:line for malformed input.
///
/// VIGOR: the official tree (`<City>/panorama`, `<City>/satellite`) or Sample4Geo's
/// (`ground/<City>`, `satellite/<City>`), detected per city, with `splits/<City>/...`.
/// Cities: `spec.cities`, or the protocol's cities for the split (cities without a
/// `splits/<City>` directory are then skipped with a warning). Gallery: the concatenated
/// `satellite_list.txt` of the cities, in city order. Tile `m_per_px` refers to the 640-px
/// frame of the label offsets.
/// Manifest: `DIR/queries.csv` (query_id,path,lat,lon), `DIR/gallery.csv`
/// (tile_id,path,lat,lon,m_per_px), `DIR/labels.csv` (query_id,positive[,semi_positives]
/// separated by ';'); relative paths are relative to DIR; empty lat/lon means unknown.
/// Subset: with `spec.subset` in (0, n) the queries are reduced to `subset` queries drawn
/// without replacement by a seeded SplitMix64 Fisher-Yates shuffle (the same on every
/// platform), kept in their original order; the gallery stays whole.
Dataset load_dataset(const DatasetSpec& spec);

/// The indices kept by the subset rule above: `n_keep` of `n` indices, ascending.
std::vector<std::size_t> subset_indices(std::size_t n, std::size_t n_keep, std::uint64_t seed);

}  // namespace georank
