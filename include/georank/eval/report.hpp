#pragma once
/// The report of a run (`georank report RUN_DIR`): every strategy against the retrieval
/// baseline with paired statistics, the oracle ceiling, a per-city breakdown, judge
/// diagnostics, Vega-Lite figures and one self-contained HTML page.
///
/// It reads what `georank run` wrote: OUT/summary.json (the resolved config and the rows),
/// the candidates and every reranked-<name>.jsonl with its .meta.json sidecar, and the
/// dataset's labels and images. It writes, into `out` (default RUN_DIR/report):
///   report.json        every number, one row per strategy keyed by its name in the run
///   report.html        tables, figures, configs, prompts, judge identity, per-query drill-down
///   strategies.csv, cities.csv, queries.csv   the tables, for pandas
///   figures/<name>.vl.json   Vega-Lite specs with their data; .svg and .png when Node and
///                            the web/ packages are installed (web/render-figures.mjs)

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/core/config.hpp"
#include "georank/data/dataset.hpp"

namespace georank {

struct ReportConfig {
  std::string out;                  ///< output folder; empty: RUN_DIR/report
  int bootstrap_resamples = 10000;  ///< paired bootstrap resamples
  std::uint64_t seed = 0;           ///< bootstrap seed
  double level = 0.95;              ///< interval level
  std::vector<int> ks = {1, 3, 5};  ///< the recall cut-offs compared
  int examples = 4;                 ///< queries per qualitative grid (fixed, broken, unchanged)
  int thumbnail_px = 96;            ///< longest side of the report's images
  int drilldown_images = 300;       ///< queries whose drill-down carries images (the first ones)
  bool render = true;               ///< SVG and PNG figures through Node, when it is installed

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("out", c.out, "Output folder (default: RUN_DIR/report)");
    v("bootstrap_resamples", c.bootstrap_resamples, "Paired bootstrap resamples");
    v("seed", c.seed, "Bootstrap seed");
    v("level", c.level, "Interval level");
    v("ks", c.ks, "Recall cut-offs compared against the baseline");
    v("examples", c.examples, "Queries per qualitative grid");
    v("thumbnail_px", c.thumbnail_px, "Longest side of the report's images (pixels)");
    v("drilldown_images", c.drilldown_images, "Queries whose drill-down carries images");
    v("render", c.render, "Render SVG/PNG figures through Node when it is installed");
  }
};

/// Checks ranges; throws Error(invalid_argument) naming the field.
void validate(const ReportConfig& config);

/// A Vega-Lite figure: its name (file stem) and spec, data inline.
struct Figure {
  std::string name;
  std::string title;
  std::string caption;
  nlohmann::json spec;
};

struct ReportResult {
  std::string out;   ///< the report folder
  std::string html;  ///< report.html
  std::string json;  ///< report.json
  nlohmann::json report;
  std::vector<Figure> figures;
  /// Per query (baseline order): id, city, positive_rank, the judged top candidates and each
  /// strategy's order with its evidence and category (what the drill-down shows).
  nlohmann::json queries;
  Dataset dataset;          ///< the run's dataset, as read
  bool rendered = false;    ///< SVG and PNG files were written
  std::string render_note;  ///< why not, and how to get them
};

/// The analysis alone (report.json's content and the figures), without writing anything.
/// Throws Error(not_found) for a folder without summary.json or a missing rankings file,
/// Error(invalid_argument) naming the file for malformed outputs.
ReportResult analyze_run(const std::string& run_dir, const ReportConfig& config = {});

/// analyze_run, then writes the report folder (each file written, then renamed).
ReportResult write_report(const std::string& run_dir, const ReportConfig& config = {});

}  // namespace georank
