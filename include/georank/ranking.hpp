#pragma once
/// Per-query ranked candidate lists: the "top-K candidates" file format (JSONL, one query per
/// line) produced by retrieval and by reranking and read by `georank eval`.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "georank/geo.hpp"

namespace georank {

struct RankedCandidate {
  std::string tile_id;
  double score = 0;              ///< higher is better (retrieval: inner product)
  std::optional<LatLon> center;  ///< tile centre
  bool positive = false;
  bool semi_positive = false;
  int baseline_rank = -1;   ///< 0-based rank before reranking (-1: not reranked output)
  nlohmann::json evidence;  ///< reranker evidence (null when absent)
};

/// One JSONL line: {"query_id","lat","lon","candidates":[...]} in rank order.
struct QueryRanking {
  std::string query_id;
  std::optional<LatLon> gps;
  std::vector<RankedCandidate> candidates;
};

nlohmann::json to_json(const QueryRanking& ranking);
/// Throws Error(invalid_argument) naming `where` (e.g. "file.jsonl:12") on a bad field.
QueryRanking ranking_from_json(const nlohmann::json& j, const std::string& where);

/// Reads a rankings JSONL file. Throws Error with file:line for malformed lines.
std::vector<QueryRanking> read_rankings(const std::string& path);
/// Writes a rankings JSONL file atomically (temporary file + rename).
void write_rankings(const std::vector<QueryRanking>& rankings, const std::string& path);

}  // namespace georank
