#include "georank/eval/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "georank/core/error.hpp"

namespace georank {
namespace {

std::optional<double> fraction(const std::vector<std::optional<bool>>& v) {
  if (v.empty()) return std::nullopt;
  std::size_t yes = 0;
  for (const auto& b : v) {
    if (!b) return std::nullopt;
    yes += *b ? 1 : 0;
  }
  return static_cast<double>(yes) / static_cast<double>(v.size());
}

std::size_t count_unknown(const std::vector<std::optional<bool>>& v) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), std::nullopt));
}

// Whether rank < cut is known, given the list and the gallery size.
std::optional<bool> within(const QueryOutcome& o, std::size_t cut, std::size_t n_gallery) {
  if (o.positive_rank) return *o.positive_rank < cut;
  if (o.list_size >= std::min(cut, n_gallery)) return false;
  return std::nullopt;
}

std::string metres_key(double t) {
  return fmt::format("{}", t);
}

}  // namespace

QueryOutcome query_outcome(const QueryRanking& r, const Dataset& ds) {
  const Query& q = ds.query(r.query_id);
  std::unordered_set<std::string> semis;
  for (const auto& l : q.semi_positives) semis.insert(l.tile_id);
  QueryOutcome o;
  o.query_id = r.query_id;
  o.list_size = r.candidates.size();
  const auto& c = r.candidates;
  for (const auto& x : c)
    if (!ds.tile_by_id.contains(x.tile_id))
      throw Error(ErrorKind::not_found, "query '" + r.query_id + "': candidate tile '" + x.tile_id +
                                            "' is not in the dataset's gallery");
  std::size_t pos = c.size();
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i].tile_id == q.positive.tile_id) {
      pos = i;
      break;
    }
  std::size_t non_semi_before = 0;  // candidates that outrank the positive and are not semi-positives
  if (pos < c.size()) {
    std::size_t rank = 0;
    for (std::size_t i = 0; i < pos; ++i) {
      if (c[i].score == c[pos].score) continue;  // a tie counts in favour of the positive
      ++rank;
      if (!semis.contains(c[i].tile_id)) ++non_semi_before;
    }
    o.positive_rank = rank;
    o.hit_sample4geo = non_semi_before == 0;
  } else {
    const bool any_other =
        std::any_of(c.begin(), c.end(), [&](const RankedCandidate& x) { return !semis.contains(x.tile_id); });
    if (any_other) o.hit_sample4geo = false;  // else unknown: only semi-positives shown
  }
  if (o.positive_rank == 0u) {
    o.hit = true;
  } else if (!c.empty()) {
    o.hit = semis.contains(c[0].tile_id);
  }
  if (!c.empty()) {
    const auto gps = q.gps ? q.gps : r.gps;
    std::optional<LatLon> center;
    const auto it = ds.tile_by_id.find(c[0].tile_id);
    if (it != ds.tile_by_id.end()) center = ds.gallery[it->second].center;
    if (!center) center = c[0].center;
    if (gps && center) o.meter_error = haversine_m(*gps, *center);
  }
  return o;
}

Metrics compute_metrics(const std::vector<QueryRanking>& rankings, const Dataset& ds,
                        const MetricsConfig& cfg) {
  for (int k : cfg.ks)
    if (k < 1) throw Error(ErrorKind::invalid_argument, "R@k needs k >= 1, got " + std::to_string(k));
  Metrics m;
  m.n_queries = rankings.size();
  m.gallery_size = ds.gallery.size();
  const std::size_t n = ds.gallery.size();
  std::vector<QueryOutcome> outcomes;
  std::unordered_set<std::string> seen;
  for (const auto& r : rankings) {
    if (!seen.insert(r.query_id).second)
      throw Error(ErrorKind::invalid_argument, "query '" + r.query_id + "' is ranked twice");
    outcomes.push_back(query_outcome(r, ds));
  }

  for (int k : cfg.ks) {
    std::vector<std::optional<bool>> v;
    for (const auto& o : outcomes) v.push_back(within(o, static_cast<std::size_t>(k), n));
    m.recall[k] = fraction(v);
    if (const auto u = count_unknown(v))
      m.notes.push_back(
          fmt::format("R@{} unknown: {} queries have fewer than {} candidates and no positive in them", k, u,
                      std::min<std::size_t>(static_cast<std::size_t>(k), n)));
  }
  m.r_at_1pct_rank = n / 100 + 1;  // floor(0.01 N) + 1 for integer N
  {
    std::vector<std::optional<bool>> v;
    for (const auto& o : outcomes) v.push_back(within(o, m.r_at_1pct_rank, n));
    m.r_at_1pct = fraction(v);
    if (const auto u = count_unknown(v))
      m.notes.push_back(
          fmt::format("R@1% unknown: it needs the top {} of {} tiles, and {} lists are shorter without "
                      "the positive (rerun retrieval with --k {} or more)",
                      m.r_at_1pct_rank, n, u, m.r_at_1pct_rank));
  }
  std::vector<std::optional<bool>> hits, hits_s4g;
  double rr = 0;
  std::vector<double> errors;
  std::size_t no_position = 0;
  for (const auto& o : outcomes) {
    hits.push_back(o.hit);
    hits_s4g.push_back(o.hit_sample4geo);
    if (o.positive_rank) rr += 1.0 / static_cast<double>(*o.positive_rank + 1);
    if (o.meter_error) {
      errors.push_back(*o.meter_error);
    } else {
      ++no_position;
    }
  }
  m.hit_rate = fraction(hits);
  if (const auto u = count_unknown(hits))
    m.notes.push_back(fmt::format("hit rate unknown: {} empty lists", u));
  m.hit_rate_sample4geo = fraction(hits_s4g);
  if (const auto u = count_unknown(hits_s4g))
    m.notes.push_back(fmt::format("Sample4Geo hit rate unknown: {} lists hold only semi-positives", u));
  if (!outcomes.empty()) m.mrr = rr / static_cast<double>(outcomes.size());

  for (double t : cfg.meter_thresholds) m.meter_error.accuracy_at[t] = std::nullopt;
  if (!outcomes.empty() && no_position == 0) {
    std::sort(errors.begin(), errors.end());
    const std::size_t e = errors.size();
    m.meter_error.median = e % 2 ? errors[e / 2] : (errors[e / 2 - 1] + errors[e / 2]) / 2;
    double sum = 0;
    for (double x : errors) sum += x;
    m.meter_error.mean = sum / static_cast<double>(e);
    for (double t : cfg.meter_thresholds) {
      const auto ok = static_cast<double>(std::upper_bound(errors.begin(), errors.end(), t) - errors.begin());
      m.meter_error.accuracy_at[t] = ok / static_cast<double>(e);
    }
  } else if (no_position > 0) {
    m.notes.push_back(
        fmt::format("metre error unavailable: {} queries lack a GPS position, a top-1 tile centre or "
                    "any candidate",
                    no_position));
  }
  return m;
}

nlohmann::json to_json(const Metrics& m) {
  using nlohmann::json;
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
  json recall = json::object();
  for (const auto& [k, v] : m.recall) recall[std::to_string(k)] = opt(v);
  json acc = json::object();
  for (const auto& [t, v] : m.meter_error.accuracy_at) acc[metres_key(t)] = opt(v);
  return {{"n_queries", m.n_queries},
          {"recall", recall},
          {"r_at_1pct", opt(m.r_at_1pct)},
          {"hit_rate", opt(m.hit_rate)},
          {"hit_rate_sample4geo", opt(m.hit_rate_sample4geo)},
          {"mrr", opt(m.mrr)},
          {"meter_error",
           {{"median", opt(m.meter_error.median)}, {"mean", opt(m.meter_error.mean)}, {"accuracy_at", acc}}}};
}

}  // namespace georank
