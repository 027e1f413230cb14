#include <charconv>
#include <cmath>
#include <filesystem>
#include <unordered_set>

#include "data/csv.hpp"
#include "data/readers.hpp"
#include "georank/core/error.hpp"
#include "georank/core/parse_number.hpp"

namespace georank::data {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

// Reads an optional lat/lon pair: both empty -> nullopt; otherwise both must parse.
bool read_gps(const std::vector<std::string>& f, std::optional<std::size_t> lat_col,
              std::optional<std::size_t> lon_col, std::optional<LatLon>& out, std::string& reason) {
  const std::string lat = lat_col ? trim(f[*lat_col]) : "";
  const std::string lon = lon_col ? trim(f[*lon_col]) : "";
  if (lat.empty() && lon.empty()) return true;
  const auto a = parse_finite_double(lat);
  const auto b = parse_finite_double(lon);
  if (!a || !b || std::abs(*a) > 90 || std::abs(*b) > 180) {
    reason = "bad GPS '" + lat + "," + lon + "' (degrees, or both empty when unknown)";
    return false;
  }
  out = LatLon{*a, *b};
  return true;
}

std::string resolve(const fs::path& dir, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() ? path.string() : (dir / path).string();
}

std::optional<csv::Table> read_table(const fs::path& path, Issues& issues) {
  if (!fs::exists(path)) {
    issues.missing(path.string(), "manifest file missing");
    return std::nullopt;
  }
  try {
    return csv::read(path.string());
  } catch (const Error& e) {
    if (!issues.lenient()) throw;
    issues.malformed(path.string(), e.what());
    return std::nullopt;
  }
}

}  // namespace

Dataset read_manifest(const DatasetSpec& spec, Issues& issues) {
  const fs::path dir(spec.root());
  if (!fs::is_directory(dir))
    throw Error(ErrorKind::not_found, spec.root() + ": manifest directory not found");
  Dataset ds;
  ds.spec = spec;

  std::unordered_set<std::string> tile_ids;
  if (auto t = read_table(dir / "gallery.csv", issues)) {
    const auto id = t->require_column("tile_id");
    const auto path = t->require_column("path");
    const auto lat = t->column("lat"), lon = t->column("lon"), mpp = t->column("m_per_px");
    for (const auto& row : t->rows) {
      const auto where = t->path + ":" + std::to_string(row.line);
      if (row.fields.size() != t->header.size()) {
        issues.malformed(where, "expected " + std::to_string(t->header.size()) + " fields, got " +
                                    std::to_string(row.fields.size()));
        continue;
      }
      Tile tile;
      tile.id = trim(row.fields[id]);
      tile.path = resolve(dir, trim(row.fields[path]));
      std::string reason;
      if (tile.id.empty()) {
        issues.malformed(where, "empty tile_id");
        continue;
      }
      if (!read_gps(row.fields, lat, lon, tile.center, reason)) {
        issues.malformed(where, reason);
        continue;
      }
      if (mpp && !trim(row.fields[*mpp]).empty()) {
        const auto m = parse_finite_double(trim(row.fields[*mpp]));
        if (!m || *m < 0) {
          issues.malformed(where, "bad m_per_px '" + row.fields[*mpp] + "'");
          continue;
        }
        tile.m_per_px = *m;
      }
      if (!tile_ids.insert(tile.id).second) {
        issues.malformed(where, "duplicate tile_id '" + tile.id + "'");
        continue;
      }
      ds.gallery.push_back(std::move(tile));
    }
  }

  std::unordered_map<std::string, std::size_t> query_row;
  if (auto t = read_table(dir / "queries.csv", issues)) {
    const auto id = t->require_column("query_id");
    const auto path = t->require_column("path");
    const auto lat = t->column("lat"), lon = t->column("lon");
    for (const auto& row : t->rows) {
      const auto where = t->path + ":" + std::to_string(row.line);
      if (row.fields.size() != t->header.size()) {
        issues.malformed(where, "expected " + std::to_string(t->header.size()) + " fields, got " +
                                    std::to_string(row.fields.size()));
        continue;
      }
      Query q;
      q.id = trim(row.fields[id]);
      q.path = resolve(dir, trim(row.fields[path]));
      std::string reason;
      if (q.id.empty()) {
        issues.malformed(where, "empty query_id");
        continue;
      }
      if (!read_gps(row.fields, lat, lon, q.gps, reason)) {
        issues.malformed(where, reason);
        continue;
      }
      if (query_row.contains(q.id)) {
        issues.malformed(where, "duplicate query_id '" + q.id + "'");
        continue;
      }
      query_row.emplace(q.id, ds.queries.size());
      ds.queries.push_back(std::move(q));
    }
  }

  std::vector<bool> labelled(ds.queries.size(), false);
  if (auto t = read_table(dir / "labels.csv", issues)) {
    const auto id = t->require_column("query_id");
    const auto pos = t->require_column("positive");
    const auto semi = t->column("semi_positives");
    for (const auto& row : t->rows) {
      const auto where = t->path + ":" + std::to_string(row.line);
      if (row.fields.size() != t->header.size()) {
        issues.malformed(where, "expected " + std::to_string(t->header.size()) + " fields, got " +
                                    std::to_string(row.fields.size()));
        continue;
      }
      const auto qid = trim(row.fields[id]);
      const auto it = query_row.find(qid);
      if (it == query_row.end()) {
        issues.malformed(where, "query_id '" + qid + "' is not in queries.csv");
        continue;
      }
      if (labelled[it->second]) {
        issues.malformed(where, "second label row for query_id '" + qid + "'");
        continue;
      }
      const auto positive = trim(row.fields[pos]);
      if (!tile_ids.contains(positive)) {
        issues.malformed(where, "positive tile '" + positive + "' is not in gallery.csv");
        continue;
      }
      std::vector<TileLabel> semis;
      bool ok = true;
      if (semi) {
        std::string list = row.fields[*semi];
        std::size_t start = 0;
        while (start <= list.size()) {
          const auto end = std::min(list.find(';', start), list.size());
          const auto s = trim(list.substr(start, end - start));
          if (!s.empty()) {
            if (!tile_ids.contains(s)) {
              issues.malformed(where, "semi-positive tile '" + s + "' is not in gallery.csv");
              ok = false;
              break;
            }
            semis.push_back({s, 0, 0});
          }
          start = end + 1;
        }
      }
      if (!ok) continue;
      auto& q = ds.queries[it->second];
      q.positive = {positive, 0, 0};
      q.semi_positives = std::move(semis);
      labelled[it->second] = true;
    }
  }
  // Queries without a label row cannot be evaluated.
  std::vector<Query> kept;
  for (std::size_t i = 0; i < ds.queries.size(); ++i) {
    if (labelled[i]) {
      kept.push_back(std::move(ds.queries[i]));
    } else if (!query_row.empty()) {
      issues.malformed((dir / "labels.csv").string(), "no label row for query_id '" + ds.queries[i].id + "'");
    }
  }
  ds.queries = std::move(kept);
  return ds;
}

}  // namespace georank::data
