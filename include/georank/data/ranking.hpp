#pragma once
/// Per-query ranked candidate lists: the "top-K candidates" file format (JSONL, one query per
/// line) produced by retrieval and by reranking and read by `georank eval`.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "georank/data/dataset.hpp"
#include "georank/data/geo.hpp"

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

/// Imports candidates of an external system from CSV with the header `query_id,tile_id,score`
/// (extra columns ignored): queries in order of first appearance, each query's candidates
/// sorted by descending score (equal scores keep file order). Throws Error(invalid_argument)
/// with file:line for a bad score or a tile listed twice for one query.
std::vector<QueryRanking> read_candidates_csv(const std::string& path);

/// Sets the query GPS, each candidate's tile centre and its positive / semi-positive flags
/// from the dataset's labels. Throws Error(not_found) for a query or tile id the dataset does
/// not know.
void annotate(std::vector<QueryRanking>& rankings, const Dataset& dataset);

/// The sidecar of a rankings file: "dir/candidates.jsonl" -> "dir/candidates.meta.json".
std::string meta_path_for(const std::string& rankings_path);

}  // namespace georank
