#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "data/readers.hpp"
#include "georank/error.hpp"
#include "georank/log.hpp"
#include "georank/utf8.hpp"
#include "georank/vigor.hpp"

namespace georank::data {
namespace {

// Files saved by some editors start with a UTF-8 byte-order mark; it is not part of a name.
void strip_bom(std::string& line) {
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
}

namespace fs = std::filesystem;

std::vector<std::string> protocol_cities(const DatasetSpec& spec) {
  std::vector<std::string> out;
  if (spec.protocol == "same-area") {
    for (auto c : vigor::kCities) out.emplace_back(c);
  } else if (spec.split == "train") {
    for (auto c : vigor::kCrossAreaTrain) out.emplace_back(c);
  } else {
    for (auto c : vigor::kCrossAreaTest) out.emplace_back(c);
  }
  return out;
}

std::string label_file_name(const DatasetSpec& spec) {
  const std::string base =
      spec.protocol == "same-area" ? "same_area_balanced_" + spec.split : std::string("pano_label_balanced");
  return base + (spec.corrected_labels ? "__corrected.txt" : ".txt");
}

std::optional<double> to_double(const std::string& s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
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
  if (spec.protocol != "same-area" && spec.protocol != "cross-area")
    throw Error(ErrorKind::invalid_argument,
                "unknown VIGOR protocol '" + spec.protocol + "' (same-area | cross-area)");
  if (spec.split != "train" && spec.split != "test")
    throw Error(ErrorKind::invalid_argument, "unknown split '" + spec.split + "' (train | test)");
  const fs::path root(spec.root);
  if (!fs::is_directory(root))
    throw Error(ErrorKind::not_found, spec.root + ": VIGOR root directory not found");

  std::vector<std::string> cities = spec.cities;
  if (cities.empty()) {
    for (const auto& c : protocol_cities(spec)) {
      if (has_split_dir(root, c)) {
        cities.push_back(c);
      } else {
        log_warn("{}: no splits/{} (or splits__corrected/{}) directory; city skipped", spec.root, c, c);
      }
    }
    if (cities.empty())
      throw Error(ErrorKind::not_found,
                  spec.root + ": none of the " + spec.protocol + " " + spec.split +
                      " cities has a splits/<City> (or splits__corrected/<City>) directory");
  }

  Dataset ds;
  ds.spec = spec;
  std::unordered_set<std::string> query_ids;
  for (const auto& city : cities) {
    const CityLayout layout = layout_of(root, city, issues);
    double m_per_px = vigor::kOriginalMPerPx;
    if (!spec.original_m_per_px) {
      if (auto m = vigor::corrected_m_per_px(city)) {
        m_per_px = *m;
      } else {
        m_per_px = 0;
        log_warn("{}: no corrected metres per pixel for city '{}'; metre-based values unavailable", spec.root,
                 city);
      }
    }

    // Gallery tiles of this city, in satellite_list order.
    const auto found_list = find_split_file(root, city, "satellite_list.txt");
    const fs::path list_path = found_list.value_or(root / "splits" / city / "satellite_list.txt");
    std::unordered_set<std::string> city_tiles;
    std::ifstream list(list_path);
    if (!list) {
      if (found_list)
        issues.unreadable(list_path.string(), "satellite list cannot be read");
      else
        issues.missing(list_path.string(),
                       "satellite list missing (looked in splits/ and splits__corrected/)");
    } else {
      std::string line;
      std::size_t line_no = 0;
      while (std::getline(list, line)) {
        ++line_no;
        const auto where = list_path.string() + ":" + std::to_string(line_no);
        if (line_no == 1) strip_bom(line);
        if (first_invalid_utf8(line)) {
          issues.malformed(where, "not valid UTF-8");
          continue;
        }
        const auto toks = tokens_of(line);
        if (toks.empty()) continue;
        if (toks.size() != 1) {
          issues.malformed(where,
                           "expected one tile file name, got " + std::to_string(toks.size()) + " tokens");
          continue;
        }
        const auto gps = vigor::tile_gps(toks[0]);
        if (!gps) {
          issues.malformed(where, "tile name '" + toks[0] + "' has no GPS (satellite_<lat>_<lon>.png)");
          continue;
        }
        if (!city_tiles.insert(toks[0]).second) {
          issues.malformed(where, "duplicate tile '" + toks[0] + "'");
          continue;
        }
        ds.gallery.push_back({toks[0], (layout.satellite_dir / toks[0]).string(), gps, m_per_px, city});
      }
    }

    // Labels: the corrected files may live in splits__corrected/ (Sample4Geo) or splits/.
    const std::string label_name = label_file_name(spec);
    const auto found_labels = find_split_file(root, city, label_name);
    const fs::path label_path = found_labels.value_or(root / "splits" / city / label_name);
    std::ifstream labels(label_path);
    if (!labels) {
      if (found_labels)
        issues.unreadable(label_path.string(), "label file cannot be read");
      else
        issues.missing(label_path.string(), "label file missing (looked in splits/ and splits__corrected/)");
      continue;
    }
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(labels, line)) {
      ++line_no;
      const auto where = label_path.string() + ":" + std::to_string(line_no);
      if (line_no == 1) strip_bom(line);
      if (first_invalid_utf8(line)) {
        issues.malformed(where, "not valid UTF-8");
        continue;
      }
      const auto toks = tokens_of(line);
      if (toks.empty()) continue;
      if (toks.size() != 13) {
        issues.malformed(
            where, "expected 13 tokens (panorama, then 4 x tile d0 d1), got " + std::to_string(toks.size()));
        continue;
      }
      Query q;
      q.id = toks[0];
      q.city = city;
      q.path = (layout.panorama_dir / toks[0]).string();
      q.gps = vigor::panorama_gps(toks[0]);
      if (!q.gps) {
        issues.malformed(where, "panorama name '" + toks[0] + "' has no GPS (<panoid>,<lat>,<lon>,.jpg)");
        continue;
      }
      bool ok = true;
      std::vector<TileLabel> tiles;
      for (int t = 0; t < 4 && ok; ++t) {
        const auto& tile = toks[1 + 3 * t];
        const auto d0 = to_double(toks[2 + 3 * t]);
        const auto d1 = to_double(toks[3 + 3 * t]);
        if (!d0 || !d1) {
          issues.malformed(where, "offset '" + (d0 ? toks[3 + 3 * t] : toks[2 + 3 * t]) + "' of tile " +
                                      std::to_string(t + 1) + " is not a number");
          ok = false;
        } else if (!city_tiles.contains(tile)) {
          issues.malformed(where, "tile '" + tile + "' is not in " + list_path.string());
          ok = false;
        } else {
          tiles.push_back({tile, *d0, *d1});
        }
      }
      if (!ok) continue;
      if (!query_ids.insert(q.id).second) {
        issues.malformed(where, "duplicate panorama '" + q.id + "'");
        continue;
      }
      q.positive = tiles[0];
      q.semi_positives.assign(tiles.begin() + 1, tiles.end());
      ds.queries.push_back(std::move(q));
    }
  }
  return ds;
}

}  // namespace georank::data
