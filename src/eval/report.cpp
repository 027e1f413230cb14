#include "georank/eval/report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "eval/report_parts.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/base64.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/data/image.hpp"
#include "georank/eval/diagnostics.hpp"
#include "georank/eval/metrics.hpp"
#include "georank/eval/pareto.hpp"
#include "georank/eval/statistics.hpp"
#include "georank/rerank/rerank.hpp"
#include "georank/rerank/rerank_step.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using report::RunData;
using report::StrategyRun;

json read_json_file(const std::string& path) {
  try {
    return json::parse(read_file_text(path));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::invalid_argument, fmt::format("{}: not JSON: {}", path, e.what()));
  }
}

json number(std::optional<double> v) {
  return v && std::isfinite(*v) ? json(*v) : json();
}

// A file a summary names: as written (relative to where the run ran), else in the run folder.
std::string locate(const std::string& run_dir, const std::string& recorded) {
  if (fs::exists(recorded)) return recorded;
  const fs::path here = fs::path(run_dir) / fs::path(recorded).filename();
  if (fs::exists(here)) return here.string();
  throw Error(ErrorKind::not_found,
              fmt::format("{}/summary.json names {}, which is neither there nor in the run folder", run_dir,
                          recorded));
}

// The rankings of `path`, in the order of `order` (the baseline's queries).
std::vector<QueryRanking> aligned(std::vector<QueryRanking> rankings, const std::vector<QueryRanking>& order,
                                  const std::string& path) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < rankings.size(); ++i) at.emplace(rankings[i].query_id, i);
  std::vector<QueryRanking> out;
  out.reserve(order.size());
  std::vector<std::string> missing;
  for (const auto& q : order) {
    const auto it = at.find(q.query_id);
    if (it == at.end()) {
      missing.push_back(q.query_id);
      continue;
    }
    out.push_back(std::move(rankings[it->second]));
  }
  if (!missing.empty())
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("{}: {} of the baseline's {} queries are missing (first: {}); a paired comparison "
                    "needs every query (finish the run: georank run resumes from its cache)",
                    path, missing.size(), order.size(), missing.front()));
  return out;
}

RunData read_run(const std::string& run_dir) {
  RunData run;
  run.run_dir = run_dir;
  const std::string summary_path = (fs::path(run_dir) / "summary.json").string();
  if (!fs::exists(summary_path))
    throw Error(ErrorKind::not_found,
                fmt::format("{}: no summary.json (is it the out folder of georank run?)", run_dir));
  run.summary = read_json_file(summary_path);
  const json& summary = run.summary;
  if (!summary.contains("rows") || !summary["rows"].is_array() || summary["rows"].empty() ||
      !summary.contains("config") || !summary["config"].contains("dataset"))
    throw Error(ErrorKind::invalid_argument, summary_path + ": needs rows and config.dataset");
  const DatasetSpec spec =
      config_from_json<DatasetSpec>(summary["config"]["dataset"], summary_path + ": dataset");
  run.dataset = load_dataset(spec);
  run.synthetic = fs::exists(fs::path(spec.root()) / "SYNTHETIC.json");
  const json& rows = summary["rows"];
  run.baseline_file = locate(run_dir, rows[0].at("file").get<std::string>());
  run.baseline = read_step_candidates(run.dataset, run.baseline_file);
  if (run.baseline.empty()) throw Error(ErrorKind::invalid_argument, run.baseline_file + ": no queries");
  if (fs::exists(meta_path_for(run.baseline_file)))
    run.baseline_meta = read_json_file(meta_path_for(run.baseline_file));
  for (std::size_t i = 1; i < rows.size(); ++i) {
    StrategyRun s;
    s.name = rows[i].at("name").get<std::string>();
    s.file = locate(run_dir, rows[i].at("file").get<std::string>());
    const std::string meta = meta_path_for(s.file);
    if (fs::exists(meta)) s.meta = read_json_file(meta);
    const json& strategies = summary["config"].value("strategies", json::object());
    s.config = strategies.contains(s.name) ? strategies[s.name] : s.meta.value("step", json::object());
    s.rankings = aligned(read_rankings(s.file), run.baseline, s.file);
    annotate(s.rankings, run.dataset);  // the labels decide, not the flags a file carries
    run.strategies.push_back(std::move(s));
  }
  return run;
}

// Positive rank and metre error of every query of one system.
struct Outcomes {
  std::vector<std::optional<std::size_t>> rank;
  std::vector<std::optional<double>> meters;
  [[nodiscard]] std::vector<double> correct(int k) const {
    std::vector<double> out;
    for (const auto& r : rank) out.push_back(r && *r < static_cast<std::size_t>(k) ? 1.0 : 0.0);
    return out;
  }
};

Outcomes outcomes_of(const std::vector<QueryRanking>& rankings, const Dataset& ds) {
  Outcomes o;
  for (const auto& r : rankings) {
    const QueryOutcome q = query_outcome(r, ds);
    o.rank.push_back(q.positive_rank);
    o.meters.push_back(q.meter_error);
  }
  return o;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

json interval(const BootstrapInterval& b) {
  return json::array({b.lo, b.hi});
}

// A histogram of values in [0, 1] as fractions of the group.
json histogram01(const std::vector<double>& values, int bins) {
  std::vector<double> counts(static_cast<std::size_t>(bins), 0);
  for (double v : values)
    counts[static_cast<std::size_t>(std::clamp(static_cast<int>(v * bins), 0, bins - 1))] += 1;
  json out = json::array();
  for (int b = 0; b < bins; ++b)
    out.push_back(
        {{"bin_start", static_cast<double>(b) / bins},
         {"bin_end", static_cast<double>(b + 1) / bins},
         {"count", counts[static_cast<std::size_t>(b)]},
         {"fraction",
          values.empty() ? 0.0 : counts[static_cast<std::size_t>(b)] / static_cast<double>(values.size())}});
  return out;
}

json summary_stats(std::vector<double> v) {
  if (v.empty()) return json();
  std::sort(v.begin(), v.end());
  const auto q = [&](double p) { return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))]; };
  return {{"n", v.size()}, {"mean", mean(v)},  {"min", v.front()},
          {"p10", q(0.1)}, {"median", q(0.5)}, {"max", v.back()}};
}

// The empirical CDF of metre errors, at most ~200 points.
json meter_cdf(const std::vector<std::optional<double>>& meters) {
  std::vector<double> v;
  for (const auto& m : meters)
    if (m) v.push_back(*m);
  if (v.empty()) return json();
  std::sort(v.begin(), v.end());
  json out = json::array();
  const std::size_t step = std::max<std::size_t>(1, v.size() / 200);
  for (std::size_t i = 0; i < v.size(); i += step)
    out.push_back(json::array({v[i], static_cast<double>(i + 1) / static_cast<double>(v.size())}));
  if ((v.size() - 1) % step != 0) out.push_back(json::array({v.back(), 1.0}));
  return out;
}

bool evidence_parsed(const json& e) {
  return !e.is_object() || e.value("parsed", true);
}

// Pointwise: scores of the positive and the others, probabilities, covered mass.
json pointwise_diagnostics(const StrategyRun& s, bool yes_no) {
  std::vector<double> pos, other, mass, p;
  std::vector<bool> outcome;
  std::int64_t unparsed = 0;
  for (const auto& q : s.rankings)
    for (const auto& c : q.candidates) {
      const json& e = c.evidence;
      if (!e.is_object() || !e.contains("normalized")) continue;
      if (!evidence_parsed(e) || !e["normalized"].is_number()) {
        ++unparsed;
        continue;
      }
      const double v = std::clamp(e["normalized"].get<double>(), 0.0, 1.0);
      (c.positive ? pos : other).push_back(v);
      if (e.contains("covered_mass") && e["covered_mass"].is_number())
        mass.push_back(e["covered_mass"].get<double>());
      p.push_back(v);
      outcome.push_back(c.positive);
    }
  json d = {{"kind", "pointwise"},
            {"n_positive", pos.size()},
            {"n_other", other.size()},
            {"unparsed", unparsed},
            {"auroc", number(auroc(pos, other))},
            {"score_positive", summary_stats(pos)},
            {"score_other", summary_stats(other)},
            {"histogram_positive", histogram01(pos, 20)},
            {"histogram_other", histogram01(other, 20)},
            {"covered_mass", summary_stats(mass)},
            {"covered_mass_histogram", histogram01(mass, 20)}};
  if (yes_no) {
    const auto bins = reliability_bins(p, outcome, 10);
    json rows = json::array();
    for (const auto& b : bins)
      rows.push_back({{"lo", b.lo},
                      {"hi", b.hi},
                      {"n", b.n},
                      {"mean_predicted", b.mean_predicted},
                      {"observed", b.observed}});
    d["reliability"] = rows;
    d["expected_calibration_error"] = expected_calibration_error(bins);
  }
  return d;
}

// Pairwise: every comparison once (the evidence lists it under both candidates).
json pairwise_diagnostics(const StrategyRun& s) {
  PairwiseDiagnostics diag;
  std::vector<double> mass;
  for (const auto& q : s.rankings) {
    std::set<std::pair<int, int>> seen;
    std::vector<PairObservation> obs;
    int positive = -1;
    for (const auto& c : q.candidates) {
      if (c.positive && c.evidence.is_object()) positive = c.baseline_rank;
      if (!c.evidence.is_object() || !c.evidence.contains("comparisons")) continue;
      for (const auto& row : c.evidence["comparisons"]) {
        const int a = row.value("first_baseline_rank", -1), b = row.value("second_baseline_rank", -1);
        if (a < 0 || b < 0 || !seen.insert({a, b}).second) continue;
        obs.push_back({a, b, row.value("p_first", 0.5), row.value("parsed", true)});
        if (row.contains("covered_mass") && row["covered_mass"].is_number())
          mass.push_back(row["covered_mass"].get<double>());
      }
    }
    diag.add_query(obs, positive);
  }
  json gaps = json::array();
  for (const auto& g : diag.by_gap)
    gaps.push_back(
        {{"gap", g.gap}, {"n", g.n}, {"accuracy", g.n > 0 ? g.correct / static_cast<double>(g.n) : 0.0}});
  return {{"kind", "pairwise"},
          {"judgments", diag.judgments},
          {"unparsed", diag.unparsed},
          {"mean_p_first", number(diag.mean_p_first())},
          {"pairs_both_orders", diag.both_orders},
          {"position_flips", diag.position_flips},
          {"position_flip_rate", number(diag.position_flip_rate())},
          {"triads", diag.triads},
          {"cyclic_triads", diag.cyclic_triads},
          {"intransitivity", number(diag.intransitivity())},
          {"accuracy_by_rank_gap", gaps},
          {"covered_mass", summary_stats(mass)},
          {"covered_mass_histogram", histogram01(mass, 20)}};
}

// Unparsed judgments of one query's evidence; a comparison or window is listed under each of
// its candidates and counted once.
std::int64_t unparsed_in(const QueryRanking& q) {
  std::int64_t n = 0;
  std::set<std::string> seen;
  for (const auto& c : q.candidates) {
    const json& e = c.evidence;
    if (!e.is_object()) continue;
    if (e.contains("comparisons") || e.contains("windows")) {
      for (const char* key : {"comparisons", "windows"})
        if (e.contains(key))
          for (const auto& row : e[key])
            if (!row.value("parsed", true) && seen.insert(row.dump()).second) ++n;
    } else if (!evidence_parsed(e)) {
      ++n;
    }
  }
  return n;
}

std::int64_t unparsed_in_evidence(const StrategyRun& s) {
  std::int64_t n = 0;
  for (const auto& q : s.rankings) n += unparsed_in(q);
  return n;
}

// True when any value named `key` anywhere in `j` is true.
bool any_true(const json& j, const std::string& key) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items())
      if ((k == key && v.is_boolean() && v.get<bool>()) || any_true(v, key)) return true;
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (any_true(v, key)) return true;
  }
  return false;
}

std::string thumbnail(const std::string& path, int longest) {
  try {
    const Image img = load_image(path);
    const double scale = static_cast<double>(longest) / std::max(img.width, img.height);
    const Image small =
        scale < 1 ? resize(img, std::max(1, static_cast<int>(std::lround(img.width * scale))),
                           std::max(1, static_cast<int>(std::lround(img.height * scale))), ResizeFilter::area)
                  : img;
    return "data:image/jpeg;base64," + base64_encode(encode_jpeg(small, 80));
  } catch (const Error& e) {
    log_warn("report: no thumbnail of {}: {}", path, e.what());
    return {};
  }
}

const char* category(double before, double after) {
  if (before < after) return "fixed";
  if (before > after) return "broken";
  return after > 0 ? "kept" : "missed";
}

}  // namespace

void validate(const ReportConfig& c) {
  if (c.bootstrap_resamples < 1)
    throw Error(ErrorKind::invalid_argument, "report: bootstrap_resamples must be >= 1");
  if (!(c.level > 0 && c.level < 1))
    throw Error(ErrorKind::invalid_argument, "report: level must be in (0, 1)");
  if (c.ks.empty()) throw Error(ErrorKind::invalid_argument, "report: ks must not be empty");
  for (int k : c.ks)
    if (k < 1) throw Error(ErrorKind::invalid_argument, fmt::format("report: ks must be >= 1 (got {})", k));
  if (c.examples < 0) throw Error(ErrorKind::invalid_argument, "report: examples must be >= 0");
  if (c.thumbnail_px < 16 || c.thumbnail_px > 1024)
    throw Error(ErrorKind::invalid_argument, "report: thumbnail_px must be in [16, 1024]");
  if (c.drilldown_images < 0)
    throw Error(ErrorKind::invalid_argument, "report: drilldown_images must be >= 0");
}

namespace {

struct Analysis {
  json report;
  json queries;  // per query: ids, candidates, every strategy's order and evidence
  report::Thumbnails thumbs;
};

// The thumbnails of a query and its judged candidates.
void add_images(Analysis& a, const RunData& run, const json& q, const ReportConfig& cfg) {
  const std::string id = q["id"];
  if (!a.thumbs.contains("q:" + id))
    a.thumbs["q:" + id] = thumbnail(run.dataset.query(id).path, 2 * cfg.thumbnail_px);
  for (const auto& c : q["candidates"]) {
    const std::string t = c["tile"];
    if (!a.thumbs.contains("t:" + t))
      a.thumbs["t:" + t] = thumbnail(run.dataset.gallery[run.dataset.tile_index(t)].path, cfg.thumbnail_px);
  }
}

// The qualitative grids: up to `examples` queries of the best strategy (by R@1) whose top-1
// it fixed, broke or left as it was, each with its images.
void choose_examples(Analysis& a, const RunData& run, const ReportConfig& cfg) {
  const json& strategies = a.report["strategies"];
  std::string focus;
  double best = -1;
  for (const auto& name : a.report["strategy_order"]) {
    const double r1 = strategies[name.get<std::string>()]["recall"].value("1", 0.0);
    if (r1 > best) {
      best = r1;
      focus = name;
    }
  }
  json examples = {{"strategy", focus.empty() ? json() : json(focus)},
                   {"fixed", json::array()},
                   {"broken", json::array()},
                   {"unchanged", json::array()}};
  if (focus.empty()) {
    a.report["examples"] = examples;
    return;
  }
  for (const auto& q : a.queries) {
    const std::string cat = q["strategies"][focus]["category"];
    const std::string group = cat == "fixed" || cat == "broken" ? cat : "unchanged";
    if (static_cast<int>(examples[group].size()) >= cfg.examples) continue;
    examples[group].push_back(q["id"]);
    add_images(a, run, q, cfg);
  }
  a.report["examples"] = examples;
}

Analysis analyze(const RunData& run, const ReportConfig& cfg) {
  const std::size_t n = run.baseline.size();
  const Outcomes base = outcomes_of(run.baseline, run.dataset);
  const int list_size = static_cast<int>(
      std::max_element(run.baseline.begin(), run.baseline.end(), [](const auto& a, const auto& b) {
        return a.candidates.size() < b.candidates.size();
      })->candidates.size());
  const auto key = [](int k) { return std::to_string(k); };

  json caveats = json::array();
  const bool random_weights =
      run.summary.value("random_weights", false) || any_true(run.baseline_meta, "random_weights");
  bool simulated = false;
  for (const auto& s : run.strategies)
    simulated =
        simulated || s.meta.value("judge", "") == "simulated" || s.config.value("judge", "") == "simulated";
  if (random_weights)
    caveats.push_back("RANDOM-WEIGHT models: the numbers say nothing about any real model.");
  if (run.synthetic) caveats.push_back("SYNTHETIC data: the images are generated, not VIGOR.");
  if (simulated) caveats.push_back("SIMULATED judge: a strategy's numbers say nothing about any real VLM.");

  // Baseline and oracle.
  json baseline = {{"name", "baseline"},
                   {"file", run.baseline_file},
                   {"recall", json::object()},
                   {"recall_ci95", json::object()}};
  std::vector<double> zeros(n, 0.0);
  for (int k : cfg.ks) {
    const auto c = base.correct(k);
    baseline["recall"][key(k)] = mean(c);
    baseline["recall_ci95"][key(k)] =
        interval(paired_bootstrap(zeros, c, cfg.seed, cfg.bootstrap_resamples, cfg.level));
  }
  baseline["metrics"] = run.summary["rows"][0].value("metrics", json());
  baseline["meter_error_cdf"] = meter_cdf(base.meters);
  std::set<int> oracle_ks(cfg.ks.begin(), cfg.ks.end());
  oracle_ks.insert(list_size);
  for (const auto& s : run.strategies) oracle_ks.insert(s.config.value("k", 5));
  json oracle = {{"list_size", list_size}, {"recall", json::object()}};
  for (int k : oracle_ks) oracle["recall"][key(k)] = mean(base.correct(k));

  // Cities.
  std::vector<std::string> city(n);
  std::map<std::string, std::vector<std::size_t>> by_city;
  for (std::size_t i = 0; i < n; ++i) {
    city[i] = run.dataset.query(run.baseline[i].query_id).city;
    by_city[city[i].empty() ? "(none)" : city[i]].push_back(i);
  }
  const auto base1 = base.correct(1);
  const auto city_r1 = [&](const std::vector<double>& c, const std::vector<std::size_t>& idx) {
    double s = 0;
    for (std::size_t i : idx) s += c[i];
    return s / static_cast<double>(idx.size());
  };
  json cities = json::object();
  for (const auto& [name, idx] : by_city)
    cities[name] = {{"n", idx.size()}, {"baseline_r1", city_r1(base1, idx)}};

  json strategies = json::object();
  json order = json::array();
  std::vector<double> raw_p;
  std::vector<std::vector<double>> correct1;
  for (const auto& s : run.strategies) {
    const Outcomes o = outcomes_of(s.rankings, run.dataset);
    const auto c1 = o.correct(1);
    correct1.push_back(c1);
    std::int64_t fixed = 0, broken = 0, kept = 0, missed = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string cat = category(base1[i], c1[i]);
      fixed += cat == "fixed";
      broken += cat == "broken";
      kept += cat == "kept";
      missed += cat == "missed";
    }
    const double p = mcnemar_exact_p(broken, fixed);
    raw_p.push_back(p);
    const int k = s.config.value("k", 5);
    json row = {{"name", s.name},   {"file", s.file},           {"strategy", s.config.value("strategy", "")},
                {"k", k},           {"recall", json::object()}, {"recall_ci95", json::object()},
                {"fixed", fixed},   {"broken", broken},         {"kept", kept},
                {"missed", missed}, {"mcnemar_p", p},           {"oracle_r1", mean(base.correct(k))}};
    if (s.config.value("strategy", "") == "pairwise") {
      row["aggregate"] = s.config.value("aggregate", "");
      row["orders"] = s.config.value("orders", "");
    }
    for (int kk : cfg.ks) {
      const auto ck = o.correct(kk);
      const auto bk = base.correct(kk);
      const BootstrapInterval d = paired_bootstrap(bk, ck, cfg.seed, cfg.bootstrap_resamples, cfg.level);
      row["recall"][key(kk)] = mean(ck);
      row["recall_ci95"][key(kk)] =
          interval(paired_bootstrap(zeros, ck, cfg.seed, cfg.bootstrap_resamples, cfg.level));
      row["delta_r" + key(kk)] = d.estimate;
      row["delta_r" + key(kk) + "_ci95"] = interval(d);
    }
    const json counts = s.meta.value("counts", json::object());
    const double judgments = counts.value("judgments", 0.0);
    row["judgments"] = judgments;
    row["judgments_per_query"] = n > 0 ? judgments / static_cast<double>(n) : 0.0;
    row["judge_calls"] = counts.value("backend_calls", 0);
    row["cache_hits"] = counts.value("cache_hits", 0);
    row["seconds"] = s.meta.value("seconds", 0.0);
    row["unparsed"] = unparsed_in_evidence(s);
    row["unparsed_rate"] = judgments > 0 ? row["unparsed"].get<double>() / judgments : 0.0;
    row["metrics"] = run.summary["rows"][order.size() + 1].value("metrics", json());
    row["meter_error_cdf"] = meter_cdf(o.meters);
    const std::string strategy = s.config.value("strategy", "");
    if (strategy.starts_with("pointwise"))
      row["diagnostics"] = pointwise_diagnostics(s, strategy.starts_with("pointwise-yesno"));
    else if (strategy == "pairwise")
      row["diagnostics"] = pairwise_diagnostics(s);
    row["cities"] = json::object();
    for (const auto& [name, idx] : by_city) {
      const double r1 = city_r1(c1, idx);
      row["cities"][name] = {{"n", idx.size()}, {"r1", r1}, {"delta_r1", r1 - city_r1(base1, idx)}};
    }
    row["prompt"] = s.meta.value("prompt", json());
    row["judge"] = s.meta.value("backend", json());
    row["judge_kind"] = s.meta.value("judge", "");
    row["config"] = s.config;
    strategies[s.name] = row;
    order.push_back(s.name);
  }
  const auto holm = holm_adjust(raw_p);
  for (std::size_t i = 0; i < run.strategies.size(); ++i)
    strategies[run.strategies[i].name]["mcnemar_p_holm"] = holm[i];
  // The cost/accuracy front over the baseline (no judgments) and the strategies.
  std::vector<CostPoint> points = {{"baseline", 0.0, baseline["recall"].value("1", 0.0)}};
  for (const auto& name : order) {
    const json& row = strategies[name.get<std::string>()];
    points.push_back({name, row["judgments_per_query"].get<double>(), row["recall"].value("1", 0.0)});
  }
  const auto front = pareto_front(points);
  baseline["pareto"] = static_cast<bool>(front[0]);
  for (std::size_t i = 0; i < order.size(); ++i)
    strategies[order[i].get<std::string>()]["pareto"] = static_cast<bool>(front[i + 1]);

  Analysis a;
  a.report = {{"georank_report", 1},
              {"run_dir", fs::absolute(run.run_dir).string()},
              {"n_queries", n},
              {"gallery_size", run.dataset.gallery.size()},
              {"dataset", run.summary["config"]["dataset"]},
              {"caveats", caveats},
              {"random_weights", random_weights},
              {"synthetic_data", run.synthetic},
              {"simulated_judge", simulated},
              {"statistics",
               {{"bootstrap_resamples", cfg.bootstrap_resamples},
                {"seed", cfg.seed},
                {"level", cfg.level},
                {"mcnemar", "exact two-sided binomial test on the discordant top-1 outcomes"},
                {"holm", "step-down over the strategies of this report"}}},
              {"ks", cfg.ks},
              {"baseline", baseline},
              {"oracle", oracle},
              {"cities", cities},
              {"strategy_order", order},
              {"strategies", strategies},
              {"resolved_config", run.summary.value("resolved_config", "")}};

  // Per query: what the drill-down and the grids show.
  int max_k = 0;  // the drill-down shows the deepest judged top-k
  for (const auto& s : run.strategies) max_k = std::max(max_k, s.config.value("k", 5));
  for (std::size_t i = 0; i < n; ++i) {
    const QueryRanking& q = run.baseline[i];
    const bool images = static_cast<int>(i) < cfg.drilldown_images;
    json cands = json::array();
    for (std::size_t r = 0; r < q.candidates.size() && r < static_cast<std::size_t>(std::max(max_k, 1));
         ++r) {
      const auto& c = q.candidates[r];
      cands.push_back({{"tile", c.tile_id},
                       {"score", c.score},
                       {"positive", c.positive},
                       {"semi_positive", c.semi_positive}});
    }
    json per = json::object();
    for (std::size_t si = 0; si < run.strategies.size(); ++si) {
      const auto& s = run.strategies[si];
      const QueryRanking& rq = s.rankings[i];
      json ranked = json::array();
      for (const auto& c : rq.candidates) {
        if (!c.evidence.is_object()) break;
        ranked.push_back({{"tile", c.tile_id}, {"baseline_rank", c.baseline_rank}, {"evidence", c.evidence}});
      }
      const bool unparsed = unparsed_in(rq) > 0;
      per[s.name] = {
          {"ranked", ranked}, {"category", category(base1[i], correct1[si][i])}, {"unparsed", unparsed}};
    }
    a.queries.push_back({{"id", q.query_id},
                         {"city", city[i]},
                         {"positive_rank", base.rank[i] ? json(*base.rank[i]) : json()},
                         {"candidates", cands},
                         {"images", images},
                         {"strategies", per}});
    if (images) add_images(a, run, a.queries.back(), cfg);
  }
  choose_examples(a, run, cfg);
  return a;
}

std::string csv_field(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
  }
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  return v.dump();
}

std::string csv(const std::vector<std::string>& header, const std::vector<std::vector<json>>& rows) {
  std::string out;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (i) out += ',';
    out += header[i];
  }
  out += '\n';
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (i) out += ',';
      out += csv_field(r[i]);
    }
    out += '\n';
  }
  return out;
}

void write_tables(const json& rep, const json& queries, const fs::path& out) {
  std::vector<std::string> header = {"name", "strategy", "k"};
  for (int k : rep["ks"]) header.push_back("r" + std::to_string(k));
  for (int k : rep["ks"]) {
    header.push_back("delta_r" + std::to_string(k));
    header.push_back("delta_r" + std::to_string(k) + "_lo");
    header.push_back("delta_r" + std::to_string(k) + "_hi");
  }
  for (const char* h : {"mcnemar_p", "mcnemar_p_holm", "fixed", "broken", "oracle_r1", "judgments_per_query",
                        "unparsed", "pareto"})
    header.push_back(h);
  std::vector<std::vector<json>> rows;
  {
    std::vector<json> r = {"baseline", "retrieval", json()};
    for (int k : rep["ks"]) r.push_back(rep["baseline"]["recall"][std::to_string(k)]);
    for (std::size_t i = 0; i < 3 * rep["ks"].size(); ++i) r.push_back(json());
    for (int i = 0; i < 7; ++i) r.push_back(i == 5 ? json(0) : json());
    r.push_back(rep["baseline"]["pareto"]);
    rows.push_back(r);
  }
  for (const auto& name : rep["strategy_order"]) {
    const json& s = rep["strategies"][name.get<std::string>()];
    std::vector<json> r = {name, s["strategy"], s["k"]};
    for (int k : rep["ks"]) r.push_back(s["recall"][std::to_string(k)]);
    for (int k : rep["ks"]) {
      const std::string d = "delta_r" + std::to_string(k);
      r.push_back(s[d]);
      r.push_back(s[d + "_ci95"][0]);
      r.push_back(s[d + "_ci95"][1]);
    }
    for (const char* h : {"mcnemar_p", "mcnemar_p_holm", "fixed", "broken", "oracle_r1",
                          "judgments_per_query", "unparsed", "pareto"})
      r.push_back(s[h]);
    rows.push_back(r);
  }
  write_file_atomic((out / "strategies.csv").string(), csv(header, rows));

  rows.clear();
  for (const auto& [city, c] : rep["cities"].items()) {
    rows.push_back({city, "baseline", c["n"], c["baseline_r1"], json()});
    for (const auto& name : rep["strategy_order"]) {
      const json& sc = rep["strategies"][name.get<std::string>()]["cities"][city];
      rows.push_back({city, name, sc["n"], sc["r1"], sc["delta_r1"]});
    }
  }
  write_file_atomic((out / "cities.csv").string(), csv({"city", "name", "n", "r1", "delta_r1"}, rows));

  rows.clear();
  for (const auto& q : queries)
    for (const auto& [name, s] : q["strategies"].items()) {
      const json& ranked = s["ranked"];
      rows.push_back({q["id"], q["city"], name, q["positive_rank"],
                      ranked.empty() ? json() : ranked[0]["tile"], s["category"], s["unparsed"]});
    }
  write_file_atomic(
      (out / "queries.csv").string(),
      csv({"query_id", "city", "name", "baseline_positive_rank", "top1_tile", "category", "unparsed"}, rows));
}

// The analysis of a run, ready to write.
ReportResult analyzed(RunData& run, Analysis& a, const ReportConfig& config) {
  ReportResult result;
  result.out = config.out.empty() ? (fs::path(run.run_dir) / "report").string() : config.out;
  result.report = std::move(a.report);
  result.figures = report::build_figures(result.report, a.queries, a.thumbs, config);
  result.queries = a.queries;
  result.dataset = std::move(run.dataset);
  return result;
}

}  // namespace

ReportResult analyze_run(const std::string& run_dir, const ReportConfig& config) {
  validate(config);
  RunData run = read_run(run_dir);
  Analysis a = analyze(run, config);
  return analyzed(run, a, config);
}

ReportResult write_report(const std::string& run_dir, const ReportConfig& config) {
  validate(config);
  RunData run = read_run(run_dir);
  Analysis a = analyze(run, config);
  ReportResult result = analyzed(run, a, config);
  const fs::path out(result.out);
  const fs::path figures = out / "figures";
  fs::create_directories(figures);
  json listed = json::array();
  for (const Figure& f : result.figures) {
    write_json_atomic((figures / (f.name + ".vl.json")).string(), f.spec);
    listed.push_back({{"name", f.name},
                      {"title", f.title},
                      {"spec", "figures/" + f.name + ".vl.json"},
                      {"svg", "figures/" + f.name + ".svg"},
                      {"png", "figures/" + f.name + ".png"}});
  }
  result.report["figures"] = listed;
  if (config.render) {
    result.rendered = report::render_static_figures(figures.string(), result.render_note);
  } else {
    result.render_note = fmt::format(
        "static figures not rendered (render = false); to write them: "
        "node {}/render-figures.mjs {}",
        report::web_dir(), figures.string());
  }
  result.report["static_figures"] = {{"rendered", result.rendered}, {"note", result.render_note}};
  write_tables(result.report, a.queries, out);
  result.json = (out / "report.json").string();
  write_json_atomic(result.json, result.report);
  result.html = (out / "report.html").string();
  write_file_atomic(result.html, report::render_html(result.report, result.figures, a.queries, a.thumbs,
                                                     report::vega_browser_js(), result.render_note));
  return result;
}

}  // namespace georank
