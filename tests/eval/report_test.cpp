#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "georank/data/dataset.hpp"
#include "georank/eval/report.hpp"
#include "georank/eval/statistics.hpp"
#include "georank/fixtures/synthetic_vigor.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A synthetic city whose candidate lists put the positive at rank (query index mod 5), so
// a simulated judge both fixes and breaks top-1s; one run with pairwise and pointwise
// strategies, reported by `georank run`.
struct ReportedRun {
  std::string dir, out, report;
};

const ReportedRun& reported_run() {
  static const ReportedRun run = [] {
    ReportedRun r;
    r.dir = test::fresh_work_dir("report_run");
    SyntheticVigorConfig cfg;
    cfg.out_dir = r.dir + "/vigor";
    cfg.n_queries = 40;
    write_synthetic_vigor(cfg);
    DatasetSpec spec = parse_dataset_spec("vigor:" + cfg.out_dir);
    spec.cities = {cfg.test_city};
    const Dataset ds = load_dataset(spec);
    std::ofstream csv(r.dir + "/cands.csv");
    csv << "query_id,tile_id,score\n";
    for (std::size_t qi = 0; qi < ds.queries.size(); ++qi) {
      const Query& q = ds.queries[qi];
      const std::size_t at = qi % 5;
      double score = 1.0;
      std::size_t placed = 0;
      for (const Tile& t : ds.gallery) {
        if (placed == at) {
          csv << '"' << q.id << "\"," << q.positive.tile_id << "," << (score -= 0.01) << "\n";
          ++placed;
        }
        if (placed >= 6) break;
        if (t.id == q.positive.tile_id) continue;
        csv << '"' << q.id << "\"," << t.id << "," << (score -= 0.01) << "\n";
        ++placed;
      }
    }
    csv.close();
    r.out = r.dir + "/out";
    const std::string config = r.dir + "/run.toml";
    std::ofstream(config)
        << "out = \"" << r.out << "\"\ncandidates = \"" << r.dir << "/cands.csv\"\n\n"
        << "[dataset]\ndataset = \"vigor:" << cfg.out_dir << "\"\ncities = \"" << cfg.test_city
        << "\"\n\n[rerank]\njudge = \"simulated\"\njudge_accuracy = 0.8\nposition_bias = 0.2\n"
        << "k = 5\nno_progress = true\n\n"
        << "[strategies.bt-both]\nstrategy = \"pairwise\"\naggregate = \"all-pairs-bt\"\n"
        << "orders = \"both\"\n\n[strategies.knockout]\nstrategy = \"pairwise\"\n"
        << "aggregate = \"knockout\"\norders = \"single\"\n\n"
        << "[strategies.yesno]\nstrategy = \"pointwise-yesno\"\n\n"
        << "[strategies.likert]\nstrategy = \"pointwise-likert\"\n";
    const auto res =
        test::run_command(std::string(GEORANK_CLI_PATH) + " run --config " + test::shell_quote(config));
    if (res.exit_code != 0) throw std::runtime_error("georank run failed: " + res.err);
    r.report = r.out + "/report";
    return r;
  }();
  return run;
}

TEST(Report, RunWritesTheReportWithEveryStrategyKeyedByItsName) {
  const ReportedRun& r = reported_run();
  const json rep = json::parse(read_text(r.report + "/report.json"));
  EXPECT_EQ(rep.at("n_queries"), 40);
  EXPECT_EQ(rep.at("strategy_order"), json::array({"bt-both", "knockout", "yesno", "likert"}));
  EXPECT_TRUE(rep.at("simulated_judge").get<bool>());
  EXPECT_TRUE(rep.at("synthetic_data").get<bool>());
  const json summary = json::parse(read_text(r.out + "/summary.json"));
  std::vector<double> p;
  for (std::size_t i = 1; i < summary["rows"].size(); ++i) {
    const json& row = summary["rows"][i];
    const json& s = rep.at("strategies").at(row["name"].get<std::string>());
    // The report's recall is the summary's, and its counts add up.
    EXPECT_DOUBLE_EQ(s["recall"]["1"].get<double>(), row["metrics"]["recall"]["1"].get<double>());
    const int fixed = s["fixed"], broken = s["broken"];
    EXPECT_EQ(fixed + broken + s["kept"].get<int>() + s["missed"].get<int>(), 40);
    EXPECT_NEAR(s["delta_r1"].get<double>(), (fixed - broken) / 40.0, 1e-12);
    EXPECT_DOUBLE_EQ(s["mcnemar_p"].get<double>(), mcnemar_exact_p(broken, fixed));
    EXPECT_GE(s["mcnemar_p_holm"].get<double>(), s["mcnemar_p"].get<double>());
    EXPECT_LE(s["delta_r1_ci95"][0].get<double>(), s["delta_r1"].get<double>());
    EXPECT_GE(s["delta_r1_ci95"][1].get<double>(), s["delta_r1"].get<double>());
    EXPECT_LT(s["delta_r1_ci95"][0].get<double>(), s["delta_r1_ci95"][1].get<double>());
    // Positives sit at ranks 0..4 evenly: the top-5 ceiling is 1, the baseline R@1 is 1/5.
    EXPECT_DOUBLE_EQ(s["oracle_r1"].get<double>(), 1.0);
    EXPECT_GT(s["judgments_per_query"].get<double>(), 0);
    EXPECT_TRUE(s.at("prompt").at("sha256").is_string());
    p.push_back(s["mcnemar_p"].get<double>());
  }
  EXPECT_DOUBLE_EQ(rep["baseline"]["recall"]["1"].get<double>(), 0.2);
  const auto holm = holm_adjust(p);
  for (std::size_t i = 0; i < holm.size(); ++i)
    EXPECT_DOUBLE_EQ(
        rep["strategies"][rep["strategy_order"][i].get<std::string>()]["mcnemar_p_holm"].get<double>(),
        holm[i]);
  // Diagnostics: the both-orders strategy measured position bias; pointwise has an AUROC.
  const json& bt = rep["strategies"]["bt-both"]["diagnostics"];
  EXPECT_EQ(bt["kind"], "pairwise");
  EXPECT_EQ(bt["pairs_both_orders"].get<int>(), 40 * 10);
  EXPECT_TRUE(bt["position_flip_rate"].is_number());
  EXPECT_TRUE(bt["intransitivity"].is_number());
  EXPECT_FALSE(bt["accuracy_by_rank_gap"].empty());
  const json& yesno = rep["strategies"]["yesno"]["diagnostics"];
  EXPECT_GT(yesno["auroc"].get<double>(), 0.5);  // the simulated judge prefers the positive
  EXPECT_EQ(yesno["reliability"].size(), 10u);
  EXPECT_FALSE(rep["strategies"]["likert"]["diagnostics"].contains("reliability"));
  // The Pareto flags, checked by brute force against the baseline and every strategy.
  std::vector<std::pair<double, double>> points = {{0.0, rep["baseline"]["recall"]["1"].get<double>()}};
  for (const auto& name : rep["strategy_order"]) {
    const json& s = rep["strategies"][name.get<std::string>()];
    points.emplace_back(s["judgments_per_query"].get<double>(), s["recall"]["1"].get<double>());
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (const auto& o : points)
      dominated |= (o.first <= points[i].first && o.second > points[i].second) ||
                   (o.first < points[i].first && o.second >= points[i].second);
    const json& row =
        i == 0 ? rep["baseline"] : rep["strategies"][rep["strategy_order"][i - 1].get<std::string>()];
    EXPECT_EQ(row.at("pareto").get<bool>(), !dominated) << i;
  }
  const std::string csv = read_text(r.report + "/strategies.csv");
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",pareto"), std::string::npos);
}

TEST(Report, StatisticsMatchScipyAndNumpy) {
  const ReportedRun& r = reported_run();
  const auto res = test::run_command(
      std::string(GEORANK_PYTHON) + " " +
      test::shell_quote(std::string(GEORANK_SOURCE_DIR) + "/tests/eval/report_statistics_check.py") + " " +
      test::shell_quote(r.report));
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("all match"), std::string::npos) << res.out;
}

TEST(Report, TheStatisticsCheckFailsOnATamperedReport) {
  const ReportedRun& r = reported_run();
  const std::string copy = test::fresh_work_dir("report_tampered");
  for (const char* f : {"report.json", "strategies.csv", "queries.csv", "cities.csv"})
    fs::copy_file(r.report + "/" + f, copy + "/" + f);
  json rep = json::parse(read_text(copy + "/report.json"));
  rep["strategies"]["knockout"]["mcnemar_p"] = rep["strategies"]["knockout"]["mcnemar_p"].get<double>() * 0.9;
  rep["strategies"]["yesno"]["delta_r1_ci95"][1] = 0.9;
  std::ofstream(copy + "/report.json") << rep.dump();
  const auto res = test::run_command(
      std::string(GEORANK_PYTHON) + " " +
      test::shell_quote(std::string(GEORANK_SOURCE_DIR) + "/tests/eval/report_statistics_check.py") + " " +
      test::shell_quote(copy));
  EXPECT_EQ(res.exit_code, 1) << res.out << res.err;
  EXPECT_NE(res.out.find("knockout: McNemar p"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("yesno: delta R@1 interval high"), std::string::npos) << res.out;
}

TEST(Report, FiguresAreSpecsWithDataAndThePageCarriesThemAndTheBanner) {
  const ReportedRun& r = reported_run();
  const json rep = json::parse(read_text(r.report + "/report.json"));
  const std::string html = read_text(r.report + "/report.html");
  std::vector<std::string> names;
  for (const auto& f : rep["figures"]) names.push_back(f["name"]);
  for (const char* expected :
       {"recall_bars", "score_distributions", "reliability", "accuracy_by_gap", "covered_mass",
        "meter_error_cdf", "cost_accuracy", "examples_fixed", "examples_broken", "examples_unchanged"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const json spec = json::parse(read_text(r.report + "/figures/" + name + ".vl.json"));
    EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json") << name;
    EXPECT_NE(html.find("data-figure=\"" + name + "\""), std::string::npos) << name;
  }
  EXPECT_NE(html.find("SIMULATED judge"), std::string::npos);
  EXPECT_NE(html.find("SYNTHETIC data"), std::string::npos);
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);
  // Self-contained: no element loads anything by URL.
  for (const char* external : {"src=\"http", "href=\"http", "src='http", "<link "})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  // The drill-down data holds every query with each strategy's evidence.
  EXPECT_NE(html.find("\"comparisons\""), std::string::npos);
  EXPECT_EQ(std::count(html.begin(), html.end(), '\n') > 0, true);
}

TEST(Report, AFolderWithoutASummaryIsAClearError) {
  const std::string dir = test::fresh_work_dir("report_empty");
  const auto res = test::run_command(std::string(GEORANK_CLI_PATH) + " report " + test::shell_quote(dir));
  EXPECT_EQ(res.exit_code, 3) << res.err;
  EXPECT_NE(res.err.find("no summary.json"), std::string::npos) << res.err;
  EXPECT_THROW((void)analyze_run(dir), Error);
  ReportConfig bad;
  bad.level = 1.5;
  EXPECT_THROW(validate(bad), Error);
}

TEST(Report, AMissingQueryInAStrategyFileIsNamed) {
  const ReportedRun& r = reported_run();
  const std::string copy = test::fresh_work_dir("report_partial");
  fs::copy(r.out, copy + "/out", fs::copy_options::recursive);
  // Drop the last line of one reranked file.
  const std::string path = copy + "/out/reranked-likert.jsonl";
  std::string text = read_text(path);
  text.pop_back();
  text.erase(text.rfind('\n') + 1);
  std::ofstream(path) << text;
  json summary = json::parse(read_text(copy + "/out/summary.json"));
  for (std::size_t i = 1; i < summary["rows"].size(); ++i)
    summary["rows"][i]["file"] =
        copy + "/out/" + fs::path(summary["rows"][i]["file"].get<std::string>()).filename().string();
  std::ofstream(copy + "/out/summary.json") << summary.dump();
  const auto res =
      test::run_command(std::string(GEORANK_CLI_PATH) + " report " + test::shell_quote(copy + "/out") +
                        " --out " + test::shell_quote(copy + "/rep"));
  EXPECT_EQ(res.exit_code, 2) << res.err;
  EXPECT_NE(res.err.find("reranked-likert.jsonl: 1 of the baseline's 40 queries are missing"),
            std::string::npos)
      << res.err;
  EXPECT_FALSE(fs::exists(copy + "/rep/report.json"));
}

}  // namespace
}  // namespace georank
