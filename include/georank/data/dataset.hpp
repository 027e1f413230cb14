#pragma once
/// Cross-view datasets: ground queries with their positive / semi-positive aerial tiles and
/// the aerial gallery. Readers: VIGOR (official and Sample4Geo trees) and a CSV manifest.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/core/config.hpp"
#include "georank/data/geo.hpp"
#include "georank/data/shard.hpp"

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

/// VIGOR's two evaluation protocols.
enum class VigorProtocol { same_area, cross_area };
inline constexpr EnumName<VigorProtocol> kVigorProtocolNames[] = {{VigorProtocol::same_area, "same-area"},
                                                                  {VigorProtocol::cross_area, "cross-area"}};
inline std::span<const EnumName<VigorProtocol>> enum_names(VigorProtocol) {
  return kVigorProtocolNames;
}
enum class DatasetSplit { train, test };
inline constexpr EnumName<DatasetSplit> kDatasetSplitNames[] = {{DatasetSplit::train, "train"},
                                                                {DatasetSplit::test, "test"}};
inline std::span<const EnumName<DatasetSplit>> enum_names(DatasetSplit) {
  return kDatasetSplitNames;
}
/// VIGOR's label files: the original ones or the "__corrected" ones.
enum class VigorLabels { original, corrected };
inline constexpr EnumName<VigorLabels> kVigorLabelsNames[] = {{VigorLabels::original, "original"},
                                                              {VigorLabels::corrected, "corrected"}};
inline std::span<const EnumName<VigorLabels>> enum_names(VigorLabels) {
  return kVigorLabelsNames;
}
/// VIGOR's ground resolution: corrected per-city values, or the original 0.114 m/px.
enum class VigorResolution { corrected, original };
inline constexpr EnumName<VigorResolution> kVigorResolutionNames[] = {
    {VigorResolution::corrected, "corrected"}, {VigorResolution::original, "original"}};
inline std::span<const EnumName<VigorResolution>> enum_names(VigorResolution) {
  return kVigorResolutionNames;
}

/// Which data to read: the dataset component's config (flags `--dataset`, `--protocol`, ...;
/// a run config's [dataset] table).
struct DatasetSpec {
  std::string dataset;  ///< "vigor:ROOT" or "manifest:DIR"
  VigorProtocol protocol = VigorProtocol::cross_area;
  DatasetSplit split = DatasetSplit::test;
  std::vector<std::string> cities;  ///< empty: the protocol's cities for the split
  std::int64_t subset = 0;          ///< 0: all queries; else a deterministic subset
  std::uint64_t seed = 0;           ///< subset seed
  VigorLabels labels = VigorLabels::original;
  VigorResolution m_per_px = VigorResolution::corrected;

  /// "vigor" or "manifest"; root: what follows the colon (parse_dataset_spec checks both).
  [[nodiscard]] std::string kind() const;
  [[nodiscard]] std::string root() const;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("dataset", c.dataset, "Dataset: vigor:ROOT or manifest:DIR");
    v("protocol", c.protocol, "VIGOR protocol");
    v("split", c.split, "Split");
    v("cities", c.cities, "VIGOR cities (comma-separated; default: the protocol's cities)");
    v("subset", c.subset, "Use a deterministic subset of N queries (0: all)");
    v("seed", c.seed, "Seed of the query subset");
    v("labels", c.labels, "VIGOR label files: original or corrected (\"__corrected\")");
    v("m_per_px", c.m_per_px, "VIGOR ground resolution: corrected per-city values or original 0.114");
  }
};

/// The spec as JSON (every field), as recorded in output sidecars and reports.
inline nlohmann::json to_json(const DatasetSpec& spec) {
  return config_to_json(spec);
}

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
  /// The part of the queries (and, with gallery_sharded, of the gallery) this dataset holds
  /// (apply_shard); the whole dataset by default.
  Shard shard;
  bool gallery_sharded = false;

  /// Rebuilds `tile_by_id` and `query_by_id`; throws Error(invalid_argument) on duplicates.
  void index();
};

/// A spec reading "vigor:ROOT" / "manifest:DIR" (other fields keep defaults).
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
