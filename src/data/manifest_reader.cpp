#include <charconv>
#include <cmath>
#include <filesystem>
#include <unordered_map>
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

// Calls `row_problem` for each row with the right number of fields; a row it finds a problem
// with (a non-empty reason) is a malformed line of the report.
template <class F>
void for_each_row(const csv::Table& t, Issues& issues, F&& row_problem) {
  for (const auto& row : t.rows) {
    const auto where = t.path + ":" + std::to_string(row.line);
    const std::string problem = row.fields.size() != t.header.size()
                                    ? "expected " + std::to_string(t.header.size()) + " fields, got " +
                                          std::to_string(row.fields.size())
                                    : row_problem(row.fields);
    if (!problem.empty()) issues.malformed(where, problem);
  }
}

// gallery.csv: tile_id,path[,lat,lon][,m_per_px].
void read_gallery(const fs::path& dir, Dataset& ds, std::unordered_set<std::string>& tile_ids,
                  Issues& issues) {
  const auto t = read_table(dir / "gallery.csv", issues);
  if (!t) return;
  const auto id = t->require_column("tile_id");
  const auto path = t->require_column("path");
  const auto lat = t->column("lat"), lon = t->column("lon"), mpp = t->column("m_per_px");
  for_each_row(*t, issues, [&](const std::vector<std::string>& f) -> std::string {
    Tile tile;
    tile.id = trim(f[id]);
    tile.path = resolve(dir, trim(f[path]));
    std::string reason;
    if (tile.id.empty()) return "empty tile_id";
    if (!read_gps(f, lat, lon, tile.center, reason)) return reason;
    if (mpp && !trim(f[*mpp]).empty()) {
      const auto m = parse_finite_double(trim(f[*mpp]));
      if (!m || *m < 0) return "bad m_per_px '" + f[*mpp] + "'";
      tile.m_per_px = *m;
    }
    if (!tile_ids.insert(tile.id).second) return "duplicate tile_id '" + tile.id + "'";
    ds.gallery.push_back(std::move(tile));
    return {};
  });
}

// queries.csv: query_id,path[,lat,lon]. `query_row`: the index of each query id.
void read_queries(const fs::path& dir, Dataset& ds, std::unordered_map<std::string, std::size_t>& query_row,
                  Issues& issues) {
  const auto t = read_table(dir / "queries.csv", issues);
  if (!t) return;
  const auto id = t->require_column("query_id");
  const auto path = t->require_column("path");
  const auto lat = t->column("lat"), lon = t->column("lon");
  for_each_row(*t, issues, [&](const std::vector<std::string>& f) -> std::string {
    Query q;
    q.id = trim(f[id]);
    q.path = resolve(dir, trim(f[path]));
    std::string reason;
    if (q.id.empty()) return "empty query_id";
    if (!read_gps(f, lat, lon, q.gps, reason)) return reason;
    if (query_row.contains(q.id)) return "duplicate query_id '" + q.id + "'";
    query_row.emplace(q.id, ds.queries.size());
    ds.queries.push_back(std::move(q));
    return {};
  });
}

// The tiles of a ';'-separated list, or the reason one is not in the gallery.
std::string semi_positives_of(const std::string& list, const std::unordered_set<std::string>& tile_ids,
                              std::vector<TileLabel>& out) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto end = std::min(list.find(';', start), list.size());
    const auto s = trim(list.substr(start, end - start));
    if (!s.empty()) {
      if (!tile_ids.contains(s)) return "semi-positive tile '" + s + "' is not in gallery.csv";
      out.push_back({s, 0, 0});
    }
    start = end + 1;
  }
  return {};
}

// labels.csv: query_id,positive[,semi_positives]; marks the labelled queries.
void read_labels(const fs::path& dir, Dataset& ds, const std::unordered_set<std::string>& tile_ids,
                 const std::unordered_map<std::string, std::size_t>& query_row, std::vector<bool>& labelled,
                 Issues& issues) {
  const auto t = read_table(dir / "labels.csv", issues);
  if (!t) return;
  const auto id = t->require_column("query_id");
  const auto pos = t->require_column("positive");
  const auto semi = t->column("semi_positives");
  for_each_row(*t, issues, [&](const std::vector<std::string>& f) -> std::string {
    const auto qid = trim(f[id]);
    const auto it = query_row.find(qid);
    if (it == query_row.end()) return "query_id '" + qid + "' is not in queries.csv";
    if (labelled[it->second]) return "second label row for query_id '" + qid + "'";
    const auto positive = trim(f[pos]);
    if (!tile_ids.contains(positive)) return "positive tile '" + positive + "' is not in gallery.csv";
    std::vector<TileLabel> semis;
    if (semi)
      if (std::string problem = semi_positives_of(f[*semi], tile_ids, semis); !problem.empty())
        return problem;
    auto& q = ds.queries[it->second];
    q.positive = {positive, 0, 0};
    q.semi_positives = std::move(semis);
    labelled[it->second] = true;
    return {};
  });
}

}  // namespace

Dataset read_manifest(const DatasetSpec& spec, Issues& issues) {
  const fs::path dir(spec.root());
  if (!fs::is_directory(dir))
    throw Error(ErrorKind::not_found, spec.root() + ": manifest directory not found");
  Dataset ds;
  ds.spec = spec;
  std::unordered_set<std::string> tile_ids;
  read_gallery(dir, ds, tile_ids, issues);
  std::unordered_map<std::string, std::size_t> query_row;
  read_queries(dir, ds, query_row, issues);
  std::vector<bool> labelled(ds.queries.size(), false);
  read_labels(dir, ds, tile_ids, query_row, labelled, issues);
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
