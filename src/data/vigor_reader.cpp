#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "data/readers.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/parse_number.hpp"
#include "georank/core/utf8.hpp"
#include "georank/data/vigor.hpp"

namespace georank::data {
namespace {

// Files saved by some editors start with a UTF-8 byte-order mark; it is not part of a name.
void strip_bom(std::string& line) {
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
}

namespace fs = std::filesystem;

std::vector<std::string> protocol_cities(const DatasetSpec& spec) {
  std::vector<std::string> out;
  if (spec.protocol == VigorProtocol::same_area) {
    for (auto c : vigor::kCities) out.emplace_back(c);
  } else if (spec.split == DatasetSplit::train) {
    for (auto c : vigor::kCrossAreaTrain) out.emplace_back(c);
  } else {
    for (auto c : vigor::kCrossAreaTest) out.emplace_back(c);
  }
  return out;
}

std::string label_file_name(const DatasetSpec& spec) {
  const std::string base = spec.protocol == VigorProtocol::same_area
                               ? "same_area_balanced_" + std::string(enum_name(spec.split))
                               : std::string("pano_label_balanced");
  return base + (spec.labels == VigorLabels::corrected ? "__corrected.txt" : ".txt");
}

std::vector<std::string> tokens_of(const std::string& line) {
  std::istringstream ss(line);
  std::vector<std::string> out;
  std::string t;
  while (ss >> t) out.push_back(t);
  return out;
}

// Split files live in splits/<City>/ (official tree) or, in trees prepared for corrected
// labels (SliceMatch, Sample4Geo forks), in splits__corrected/<City>/; the first that has the
// file wins.
const char* const kSplitDirs[] = {"splits", "splits__corrected"};

bool has_split_dir(const fs::path& root, const std::string& city) {
  for (const char* d : kSplitDirs)
    if (fs::is_directory(root / d / city)) return true;
  return false;
}

std::optional<fs::path> find_split_file(const fs::path& root, const std::string& city,
                                        const std::string& name) {
  for (const char* d : kSplitDirs)
    if (fs::exists(root / d / city / name)) return root / d / city / name;
  return std::nullopt;
}

struct CityLayout {
  fs::path panorama_dir;
  fs::path satellite_dir;
};

CityLayout layout_of(const fs::path& root, const std::string& city, Issues& issues) {
  if (fs::is_directory(root / city / "panorama") || fs::is_directory(root / city / "satellite"))
    return {root / city / "panorama", root / city / "satellite"};
  if (fs::is_directory(root / "ground" / city) || fs::is_directory(root / "satellite" / city))
    return {root / "ground" / city, root / "satellite" / city};
  issues.missing((root / city / "panorama").string(), "image directory missing (neither the official tree " +
                                                          city + "/panorama nor ground/" + city + ")");
  return {root / city / "panorama", root / city / "satellite"};
}

// Calls `each(where, tokens)` for every non-blank line of the split file `name` of `city`
// ("file:line", whitespace-separated tokens; a byte-order mark is dropped). A missing or
// unreadable file and a line that is not UTF-8 are issues. Returns the file's path, or
// nullopt when it could not be opened.
template <class Each>
std::optional<fs::path> for_each_split_line(const fs::path& root, const std::string& city,
                                            const std::string& name, const std::string& what, Issues& issues,
                                            Each&& each) {
  const auto found = find_split_file(root, city, name);
  const fs::path path = found.value_or(root / "splits" / city / name);
  std::ifstream in(path);
  if (!in) {
    if (found)
      issues.unreadable(path.string(), what + " cannot be read");
    else
      issues.missing(path.string(), what + " missing (looked in splits/ and splits__corrected/)");
    return std::nullopt;
  }
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto where = path.string() + ":" + std::to_string(line_no);
    if (line_no == 1) strip_bom(line);
    if (first_invalid_utf8(line)) {
      issues.malformed(where, "not valid UTF-8");
      continue;
    }
    const auto toks = tokens_of(line);
    if (!toks.empty()) each(where, toks);
  }
  return path;
}

// The gallery tiles of `city`, in satellite_list.txt order, appended to ds.gallery.
std::optional<fs::path> read_satellite_list(const fs::path& root, const std::string& city,
                                            const CityLayout& layout, double m_per_px, Dataset& ds,
                                            Issues& issues) {
  std::unordered_set<std::string> seen;
  return for_each_split_line(
      root, city, "satellite_list.txt", "satellite list", issues,
      [&](const std::string& where, const std::vector<std::string>& toks) {
        if (toks.size() != 1)
          return issues.malformed(
              where, "expected one tile file name, got " + std::to_string(toks.size()) + " tokens");
        const auto gps = vigor::tile_gps(toks[0]);
        if (!gps)
          return issues.malformed(where,
                                  "tile name '" + toks[0] + "' has no GPS (satellite_<lat>_<lon>.png)");
        if (!seen.insert(toks[0]).second) return issues.malformed(where, "duplicate tile '" + toks[0] + "'");
        ds.gallery.push_back({toks[0], (layout.satellite_dir / toks[0]).string(), gps, m_per_px, city});
      });
}

// The labelled queries of `city` (positive and three semi-positives, each a tile of its
// list), appended to ds.queries.
void read_labels(const DatasetSpec& spec, const fs::path& root, const std::string& city,
                 const CityLayout& layout, const fs::path& list_path,
                 std::unordered_set<std::string>& query_ids, Dataset& ds, Issues& issues) {
  std::unordered_set<std::string> city_tiles;
  for (const auto& t : ds.gallery)
    if (t.city == city) city_tiles.insert(t.id);
  for_each_split_line(
      root, city, label_file_name(spec), "label file", issues,
      [&](const std::string& where, const std::vector<std::string>& toks) {
        if (toks.size() != 13)
          return issues.malformed(where, "expected 13 tokens (panorama, then 4 x tile d0 d1), got " +
                                             std::to_string(toks.size()));
        Query q;
        q.id = toks[0];
        q.city = city;
        q.path = (layout.panorama_dir / toks[0]).string();
        q.gps = vigor::panorama_gps(toks[0]);
        if (!q.gps)
          return issues.malformed(where,
                                  "panorama name '" + toks[0] + "' has no GPS (<panoid>,<lat>,<lon>,.jpg)");
        std::vector<TileLabel> tiles;
        for (int t = 0; t < 4; ++t) {
          const auto& tile = toks[1 + 3 * t];
          const auto d0 = parse_finite_double(toks[2 + 3 * t]);
          const auto d1 = parse_finite_double(toks[3 + 3 * t]);
          if (!d0 || !d1)
            return issues.malformed(where, "offset '" + (d0 ? toks[3 + 3 * t] : toks[2 + 3 * t]) +
                                               "' of tile " + std::to_string(t + 1) + " is not a number");
          if (!city_tiles.contains(tile))
            return issues.malformed(where, "tile '" + tile + "' is not in " + list_path.string());
          tiles.push_back({tile, *d0, *d1});
        }
        if (!query_ids.insert(q.id).second)
          return issues.malformed(where, "duplicate panorama '" + q.id + "'");
        q.positive = tiles[0];
        q.semi_positives.assign(tiles.begin() + 1, tiles.end());
        ds.queries.push_back(std::move(q));
      });
}

}  // namespace

void Issues::add(DatasetIssue::Kind kind, const std::string& where, const std::string& reason) {
  if (!sink_)
    throw Error(kind == DatasetIssue::Kind::missing      ? ErrorKind::not_found
                : kind == DatasetIssue::Kind::unreadable ? ErrorKind::io
                                                         : ErrorKind::invalid_argument,
                where + ": " + reason);
  sink_->push_back({kind, where, reason});
}

Dataset read_vigor(const DatasetSpec& spec, Issues& issues) {
  const fs::path root(spec.root());
  if (!fs::is_directory(root))
    throw Error(ErrorKind::not_found, spec.root() + ": VIGOR root directory not found");

  std::vector<std::string> cities = spec.cities;
  if (cities.empty()) {
    for (const auto& c : protocol_cities(spec)) {
      if (has_split_dir(root, c)) {
        cities.push_back(c);
      } else {
        log_warn("{}: no splits/{} (or splits__corrected/{}) directory; city skipped", spec.root(), c, c);
      }
    }
    if (cities.empty())
      throw Error(ErrorKind::not_found,
                  spec.root() + ": none of the " + std::string(enum_name(spec.protocol)) + " " +
                      std::string(enum_name(spec.split)) +
                      " cities has a splits/<City> (or splits__corrected/<City>) directory");
  }

  Dataset ds;
  ds.spec = spec;
  std::unordered_set<std::string> query_ids;
  for (const auto& city : cities) {
    const CityLayout layout = layout_of(root, city, issues);
    double m_per_px = vigor::kOriginalMPerPx;
    if (spec.m_per_px == VigorResolution::corrected) {
      if (auto m = vigor::corrected_m_per_px(city)) {
        m_per_px = *m;
      } else {
        m_per_px = 0;
        log_warn("{}: no corrected metres per pixel for city '{}'; metre-based values unavailable",
                 spec.root(), city);
      }
    }

    const auto list_path = read_satellite_list(root, city, layout, m_per_px, ds, issues);
    if (list_path) read_labels(spec, root, city, layout, *list_path, query_ids, ds, issues);
  }
  return ds;
}

}  // namespace georank::data
