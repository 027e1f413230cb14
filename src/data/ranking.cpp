#include "georank/data/ranking.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "data/csv.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/parse_number.hpp"

namespace georank {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& reason) {
  throw Error(ErrorKind::invalid_argument, where + ": " + reason);
}

std::optional<LatLon> gps_from(const json& j, const std::string& where) {
  const bool has_lat = j.contains("lat") && !j["lat"].is_null();
  const bool has_lon = j.contains("lon") && !j["lon"].is_null();
  if (!has_lat && !has_lon) return std::nullopt;
  if (!has_lat || !has_lon || !j["lat"].is_number() || !j["lon"].is_number())
    bad(where, "\"lat\" and \"lon\" must both be numbers or both be null");
  return LatLon{j["lat"].get<double>(), j["lon"].get<double>()};
}

}  // namespace

json to_json(const QueryRanking& r) {
  json cands = json::array();
  for (const auto& c : r.candidates) {
    json o = {{"tile_id", c.tile_id},
              {"score", c.score},
              {"lat", c.center ? json(c.center->lat) : json()},
              {"lon", c.center ? json(c.center->lon) : json()},
              {"positive", c.positive},
              {"semi_positive", c.semi_positive}};
    if (c.baseline_rank >= 0) o["baseline_rank"] = c.baseline_rank;
    if (!c.evidence.is_null()) o["evidence"] = c.evidence;
    cands.push_back(std::move(o));
  }
  return {{"query_id", r.query_id},
          {"lat", r.gps ? json(r.gps->lat) : json()},
          {"lon", r.gps ? json(r.gps->lon) : json()},
          {"candidates", std::move(cands)}};
}

QueryRanking ranking_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "expected a JSON object");
  if (!j.contains("query_id") || !j["query_id"].is_string()) bad(where, "missing string field \"query_id\"");
  if (!j.contains("candidates") || !j["candidates"].is_array())
    bad(where, "missing array field \"candidates\"");
  QueryRanking r;
  r.query_id = j["query_id"].get<std::string>();
  r.gps = gps_from(j, where);
  std::size_t i = 0;
  for (const auto& c : j["candidates"]) {
    const auto cw = where + ": candidates[" + std::to_string(i++) + "]";
    if (!c.is_object()) bad(cw, "expected an object");
    if (!c.contains("tile_id") || !c["tile_id"].is_string()) bad(cw, "missing string field \"tile_id\"");
    RankedCandidate rc;
    rc.tile_id = c["tile_id"].get<std::string>();
    if (c.contains("score") && !c["score"].is_null()) {
      if (!c["score"].is_number()) bad(cw, "\"score\" must be a number");
      rc.score = c["score"].get<double>();
    } else {
      rc.score = std::nan("");
    }
    rc.center = gps_from(c, cw);
    if (c.contains("positive") && c["positive"].is_boolean()) rc.positive = c["positive"].get<bool>();
    if (c.contains("semi_positive") && c["semi_positive"].is_boolean())
      rc.semi_positive = c["semi_positive"].get<bool>();
    if (c.contains("baseline_rank") && c["baseline_rank"].is_number_integer()) {
      // get<int>() would truncate a larger value into another, plausible rank.
      const auto& rank = c["baseline_rank"];
      if ((rank.is_number_unsigned() && rank.get<std::uint64_t>() > std::numeric_limits<int>::max()) ||
          (!rank.is_number_unsigned() &&
           (rank.get<std::int64_t>() < 0 || rank.get<std::int64_t>() > std::numeric_limits<int>::max())))
        bad(cw,
            "\"baseline_rank\" must be an integer in 0.." + std::to_string(std::numeric_limits<int>::max()));
      rc.baseline_rank = rank.get<int>();
    }
    if (c.contains("evidence")) rc.evidence = c["evidence"];
    r.candidates.push_back(std::move(rc));
  }
  return r;
}

std::vector<QueryRanking> read_rankings(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(ErrorKind::not_found, path + ": no such rankings file");
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open");
  std::vector<QueryRanking> out;
  std::unordered_set<std::string> seen;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = path + ":" + std::to_string(line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
      bad(where, std::string("invalid JSON: ") + e.what());
    }
    auto r = ranking_from_json(j, where);
    if (!seen.insert(r.query_id).second) bad(where, "query \"" + r.query_id + "\" appears twice");
    out.push_back(std::move(r));
  }
  return out;
}

void write_rankings(const std::vector<QueryRanking>& rankings, const std::string& path) {
  AtomicFile f(path);
  for (const auto& r : rankings) f.stream() << to_json(r).dump() << '\n';
  f.commit();
}

std::vector<QueryRanking> read_candidates_csv(const std::string& path) {
  const auto t = csv::read(path);
  const auto qc = t.require_column("query_id"), tc = t.require_column("tile_id"),
             sc = t.require_column("score");
  std::vector<QueryRanking> out;
  std::unordered_map<std::string, std::size_t> index;
  std::unordered_map<std::string, std::unordered_set<std::string>> tiles;
  for (const auto& row : t.rows) {
    const auto where = path + ":" + std::to_string(row.line);
    if (row.fields.size() != t.header.size())
      bad(where, "expected " + std::to_string(t.header.size()) + " fields, got " +
                     std::to_string(row.fields.size()));
    const auto& q = row.fields[qc];
    const auto& tile = row.fields[tc];
    const auto& s = row.fields[sc];
    if (q.empty() || tile.empty()) bad(where, "empty query_id or tile_id");
    const auto score = parse_finite_double(s);
    if (!score) bad(where, "score '" + s + "' is not a number");
    if (!tiles[q].insert(tile).second) bad(where, "tile '" + tile + "' listed twice for query '" + q + "'");
    auto [it, inserted] = index.emplace(q, out.size());
    if (inserted) out.push_back(QueryRanking{q, std::nullopt, {}});
    RankedCandidate c;
    c.tile_id = tile;
    c.score = *score;
    out[it->second].candidates.push_back(std::move(c));
  }
  for (auto& r : out)
    std::stable_sort(r.candidates.begin(), r.candidates.end(),
                     [](const RankedCandidate& a, const RankedCandidate& b) { return a.score > b.score; });
  return out;
}

void annotate(std::vector<QueryRanking>& rankings, const Dataset& dataset) {
  for (auto& r : rankings) {
    const Query& q = dataset.query(r.query_id);
    r.gps = q.gps;
    for (auto& c : r.candidates) {
      const Tile& t = dataset.gallery[dataset.tile_index(c.tile_id)];
      c.center = t.center;
      c.positive = c.tile_id == q.positive.tile_id;
      c.semi_positive = std::any_of(q.semi_positives.begin(), q.semi_positives.end(),
                                    [&](const TileLabel& l) { return l.tile_id == c.tile_id; });
    }
  }
}

std::string meta_path_for(const std::string& rankings_path) {
  std::filesystem::path p(rankings_path);
  p.replace_extension(".meta.json");
  return p.string();
}

}  // namespace georank
