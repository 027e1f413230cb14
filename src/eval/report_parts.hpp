#pragma once
// The parts of a run report (eval/report.hpp): the run's outputs as read, the figures built
// from report.json, the HTML page and the static rendering of the figures.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/eval/report.hpp"

namespace georank::report {

struct StrategyRun {
  std::string name;  // the <name> of reranked-<name>.jsonl
  std::string file;
  nlohmann::json meta;                 // the sidecar (null when absent)
  nlohmann::json config;               // the strategy's step config from the summary
  std::vector<QueryRanking> rankings;  // in the baseline's query order
};

struct RunData {
  std::string run_dir;
  nlohmann::json summary;
  Dataset dataset;
  bool synthetic = false;  // the dataset carries SYNTHETIC.json
  std::string baseline_file;
  nlohmann::json baseline_meta;
  std::vector<QueryRanking> baseline;
  std::vector<StrategyRun> strategies;
};

/// The report's images, as data: URIs, by key ("q:<query id>", "t:<tile id>").
using Thumbnails = std::map<std::string, std::string>;

/// The figures of a report (report.json's numbers, the per-query data for the grids).
std::vector<Figure> build_figures(const nlohmann::json& report, const nlohmann::json& queries,
                                  const Thumbnails& thumbs, const ReportConfig& config);

/// The self-contained page. `vega_js` holds the three browser builds (empty: not installed).
std::string render_html(const nlohmann::json& report, const std::vector<Figure>& figures,
                        const nlohmann::json& queries, const Thumbnails& thumbs, const std::string& vega_js,
                        const std::string& static_note);

/// The folder of the web/ packages (GEORANK_WEB_DIR, else the source tree's web/).
std::string web_dir();
/// vega, vega-lite and vega-embed's browser builds, concatenated; empty when not installed.
std::string vega_browser_js();
/// Writes figures/<name>.svg and .png through Node (web/render-figures.mjs). Returns false
/// with `note` saying why (Node or the packages missing, the renderer failing) and how to
/// get the files.
bool render_static_figures(const std::string& figures_dir, std::string& note);

}  // namespace georank::report
