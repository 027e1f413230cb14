// The report's figures as Vega-Lite v5 specs, their data inline, built from report.json's
// numbers (and, for the qualitative grids, the per-query data and thumbnails).

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "eval/report_parts.hpp"
#include "georank/eval/pareto.hpp"

namespace georank::report {
namespace {

using nlohmann::json;

const char* kSchema = "https://vega.github.io/schema/vega-lite/v5.json";

json base_spec(const std::string& title) {
  return {{"$schema", kSchema},
          {"title", title},
          {"background", "white"},
          {"config", {{"font", "DejaVu Sans"}, {"view", {{"stroke", nullptr}}}}}};
}

// Strategy names (and "baseline") sorted by R@1, best first.
std::vector<std::string> sorted_by_r1(const json& report) {
  std::vector<std::pair<double, std::string>> rows = {
      {report["baseline"]["recall"].value("1", 0.0), "baseline"}};
  for (const auto& name : report["strategy_order"])
    rows.emplace_back(report["strategies"][name.get<std::string>()]["recall"].value("1", 0.0), name);
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.second);
  return out;
}

const json& system_row(const json& report, const std::string& name) {
  return name == "baseline" ? report["baseline"] : report["strategies"][name];
}

Figure recall_bars(const json& report) {
  json values = json::array();
  const auto order = sorted_by_r1(report);
  for (const auto& name : order) {
    const json& row = system_row(report, name);
    for (int k : report["ks"]) {
      const std::string key = std::to_string(k);
      values.push_back({{"strategy", name},
                        {"metric", "R@" + key},
                        {"value", 100 * row["recall"][key].get<double>()},
                        {"lo", 100 * row["recall_ci95"][key][0].get<double>()},
                        {"hi", 100 * row["recall_ci95"][key][1].get<double>()}});
    }
  }
  json spec = base_spec("Recall per strategy, sorted by R@1 (95% bootstrap intervals)");
  spec["data"] = {{"values", values}};
  spec["width"] = {{"step", 18}};
  spec["height"] = 260;
  const json x = {{"field", "strategy"},
                  {"type", "nominal"},
                  {"sort", order},
                  {"title", nullptr},
                  {"axis", {{"labelAngle", -30}, {"labelLimit", 200}}}};
  spec["encoding"] = {{"x", x}, {"xOffset", {{"field", "metric"}, {"type", "nominal"}}}};
  spec["layer"] = json::array(
      {{{"mark", "bar"},
        {"encoding",
         {{"y",
           {{"field", "value"},
            {"type", "quantitative"},
            {"title", "recall (%)"},
            {"scale", {{"domain", json::array({0, 100})}}}}},
          {"color", {{"field", "metric"}, {"type", "nominal"}, {"title", nullptr}}},
          {"tooltip", json::array({{{"field", "strategy"}},
                                   {{"field", "metric"}},
                                   {{"field", "value"}, {"format", ".1f"}},
                                   {{"field", "lo"}, {"format", ".1f"}},
                                   {{"field", "hi"}, {"format", ".1f"}}})}}}},
       {{"mark", {{"type", "rule"}, {"color", "#333"}}},
        {"encoding", {{"y", {{"field", "lo"}, {"type", "quantitative"}}}, {"y2", {{"field", "hi"}}}}}}});
  return {"recall_bars", "Recall per strategy",
          "R@1/3/5 of the baseline and every strategy, sorted by R@1; bars show the bootstrap interval of "
          "each recall (the paper's Figure 4).",
          spec};
}

Figure score_distributions(const json& report, const std::vector<std::string>& pointwise) {
  json values = json::array();
  for (const auto& name : pointwise) {
    const json& d = report["strategies"][name]["diagnostics"];
    for (const auto& [group, key] :
         {std::pair{"positive", "histogram_positive"}, std::pair{"other", "histogram_other"}})
      for (const auto& b : d[key])
        values.push_back({{"strategy", name},
                          {"candidate", group},
                          {"bin_start", b["bin_start"]},
                          {"bin_end", b["bin_end"]},
                          {"fraction", b["fraction"]}});
  }
  json spec = base_spec("Judge scores of the positive and the other candidates");
  spec["data"] = {{"values", values}};
  spec["facet"] = {{"column", {{"field", "strategy"}, {"type", "nominal"}, {"title", nullptr}}}};
  spec["spec"] = {{"width", 180},
                  {"height", 140},
                  {"mark", {{"type", "rect"}, {"opacity", 0.6}}},
                  {"encoding",
                   {{"x",
                     {{"field", "bin_start"},
                      {"type", "quantitative"},
                      {"title", "score (normalised to 0-1)"},
                      {"scale", {{"domain", json::array({0, 1})}}}}},
                    {"x2", {{"field", "bin_end"}}},
                    {"y",
                     {{"field", "fraction"},
                      {"type", "quantitative"},
                      {"title", "fraction of the group"},
                      {"stack", nullptr}}},
                    {"color",
                     {{"field", "candidate"},
                      {"type", "nominal"},
                      {"scale",
                       {{"domain", json::array({"positive", "other"})},
                        {"range", json::array({"#2a9d3f", "#c44e52"})}}}}}}}};
  return {"score_distributions", "Score distributions",
          "Per pointwise strategy, the distribution of the judge's score for the positive tile and for the "
          "other candidates of the top-K (the paper's Figure 3).",
          spec};
}

Figure reliability(const json& report, const std::vector<std::string>& yes_no) {
  json values = json::array();
  for (const auto& name : yes_no)
    for (const auto& b : report["strategies"][name]["diagnostics"]["reliability"])
      if (b["n"].get<int>() > 0)
        values.push_back({{"strategy", name},
                          {"predicted", b["mean_predicted"]},
                          {"observed", b["observed"]},
                          {"n", b["n"]}});
  json spec = base_spec("Reliability of P(Yes)");
  spec["width"] = 260;
  spec["height"] = 260;
  const json axis01 = {{"domain", json::array({0, 1})}};
  spec["layer"] = json::array(
      {{{"data", {{"values", json::array({{{"p", 0}}, {{"p", 1}}})}}},
        {"mark", {{"type", "line"}, {"strokeDash", json::array({4, 4})}, {"color", "#999"}}},
        {"encoding",
         {{"x", {{"field", "p"}, {"type", "quantitative"}, {"scale", axis01}, {"title", "mean P(Yes)"}}},
          {"y",
           {{"field", "p"},
            {"type", "quantitative"},
            {"scale", axis01},
            {"title", "fraction that are the positive"}}}}}},
       {{"data", {{"values", values}}},
        {"mark", {{"type", "line"}, {"point", true}}},
        {"encoding",
         {{"x", {{"field", "predicted"}, {"type", "quantitative"}}},
          {"y", {{"field", "observed"}, {"type", "quantitative"}}},
          {"color", {{"field", "strategy"}, {"type", "nominal"}}},
          {"tooltip", json::array({{{"field", "strategy"}}, {{"field", "n"}}})}}}}});
  return {
      "reliability", "Reliability diagram",
      "Yes/No strategies: the judge's P(Yes), binned, against how often those candidates are the positive.",
      spec};
}

Figure covered_mass(const json& report, const std::vector<std::string>& names) {
  json values = json::array();
  for (const auto& name : names)
    for (const auto& b : report["strategies"][name]["diagnostics"]["covered_mass_histogram"])
      values.push_back({{"strategy", name},
                        {"bin_start", b["bin_start"]},
                        {"bin_end", b["bin_end"]},
                        {"fraction", b["fraction"]}});
  json spec = base_spec("Probability mass on the answer set");
  spec["data"] = {{"values", values}};
  spec["facet"] = {{"column", {{"field", "strategy"}, {"type", "nominal"}, {"title", nullptr}}}};
  spec["spec"] = {
      {"width", 160},
      {"height", 120},
      {"mark", "rect"},
      {"encoding",
       {{"x",
         {{"field", "bin_start"},
          {"type", "quantitative"},
          {"title", "covered mass"},
          {"scale", {{"domain", json::array({0, 1})}}}}},
        {"x2", {{"field", "bin_end"}}},
        {"y", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "fraction of judgments"}}}}}};
  return {"covered_mass", "Covered answer mass",
          "How much of the judge's next-token probability fell on the answer set (low: the model wanted to "
          "say something else).",
          spec};
}

Figure accuracy_by_gap(const json& report, const std::vector<std::string>& pairwise) {
  json values = json::array();
  for (const auto& name : pairwise)
    for (const auto& g : report["strategies"][name]["diagnostics"]["accuracy_by_rank_gap"])
      values.push_back({{"strategy", name}, {"gap", g["gap"]}, {"accuracy", g["accuracy"]}, {"n", g["n"]}});
  json spec = base_spec("Pairwise judge accuracy by retrieval-rank gap");
  spec["data"] = {{"values", values}};
  spec["width"] = 300;
  spec["height"] = 200;
  spec["mark"] = {{"type", "line"}, {"point", true}};
  spec["encoding"] = {
      {"x", {{"field", "gap"}, {"type", "ordinal"}, {"title", "retrieval-rank gap to the positive"}}},
      {"y",
       {{"field", "accuracy"},
        {"type", "quantitative"},
        {"scale", {{"domain", json::array({0, 1})}}},
        {"title", "P(judge prefers the positive)"}}},
      {"color", {{"field", "strategy"}, {"type", "nominal"}}},
      {"tooltip", json::array({{{"field", "strategy"}}, {{"field", "gap"}}, {{"field", "n"}}})}};
  return {"accuracy_by_gap", "Pairwise accuracy by rank gap",
          "Pairs holding the positive: how often the judge preferred it, by how far apart the two candidates "
          "were in the retrieval ranking.",
          spec};
}

Figure meter_cdf(const json& report) {
  json values = json::array();
  for (const auto& name : sorted_by_r1(report)) {
    const json& cdf = system_row(report, name)["meter_error_cdf"];
    if (!cdf.is_array()) continue;
    for (const auto& p : cdf)
      values.push_back(
          {{"strategy", name}, {"meters", std::max(0.1, p[0].get<double>())}, {"fraction", p[1]}});
  }
  json spec = base_spec("Metre error of the top-1 tile");
  spec["data"] = {{"values", values}};
  spec["width"] = 360;
  spec["height"] = 240;
  spec["mark"] = {{"type", "line"}, {"interpolate", "step-after"}};
  spec["encoding"] = {{"x",
                       {{"field", "meters"},
                        {"type", "quantitative"},
                        {"scale", {{"type", "log"}}},
                        {"title", "error (m, log scale)"}}},
                      {"y",
                       {{"field", "fraction"},
                        {"type", "quantitative"},
                        {"title", "fraction of queries"},
                        {"scale", {{"domain", json::array({0, 1})}}}}},
                      {"color", {{"field", "strategy"}, {"type", "nominal"}}}};
  return {"meter_error_cdf", "Metre-error CDF",
          "Cumulative distribution of the distance from each query to its top-1 tile centre.", spec};
}

Figure cost_accuracy(const json& report) {
  std::vector<CostPoint> points = {{"baseline", 0.0, report["baseline"]["recall"].value("1", 0.0)}};
  for (const auto& name : report["strategy_order"]) {
    const json& s = report["strategies"][name.get<std::string>()];
    points.push_back({name, s["judgments_per_query"].get<double>(), s["recall"].value("1", 0.0)});
  }
  Figure f = cost_accuracy_figure(points, "Cost against accuracy");
  f.caption =
      "Judgments per query (each presentation order counts) against R@1, one point per strategy; the line "
      "is the Pareto front (no other strategy has a higher R@1 at no more judgments), dominated strategies "
      "are hollow.";
  return f;
}

// Figure 5: rows of examples; the query, then the top-K in baseline order, the judge's top-1
// outlined in blue and the positive marked in green.
Figure qualitative(const json& report, const json& queries, const Thumbnails& thumbs,
                   const std::string& group, const ReportConfig& cfg) {
  const std::string focus = report["examples"]["strategy"];
  const double s = cfg.thumbnail_px, gap = 6, label_h = 20;
  json images = json::array(), boxes = json::array(), labels = json::array();
  double row_y = 0, width = 0;
  for (const auto& id : report["examples"][group]) {
    const auto q = std::find_if(queries.begin(), queries.end(), [&](const json& x) { return x["id"] == id; });
    if (q == queries.end()) continue;
    const json& per = (*q)["strategies"][focus];
    const std::string top1 = per["ranked"].empty() ? "" : per["ranked"][0]["tile"].get<std::string>();
    labels.push_back({{"x", 0},
                      {"y", row_y + 11},
                      {"text", fmt::format("{} ({}; baseline rank of the positive: {})",
                                           id.get<std::string>(), per["category"].get<std::string>(),
                                           (*q)["positive_rank"].is_null()
                                               ? std::string("not in the list")
                                               : std::to_string((*q)["positive_rank"].get<int>() + 1))}});
    const double y = row_y + label_h;
    const auto image = [&](const std::string& key, double x, double w) {
      const auto it = thumbs.find(key);
      images.push_back(
          {{"x", x}, {"y", y}, {"x2", x + w}, {"y2", y + s}, {"url", it == thumbs.end() ? "" : it->second}});
    };
    image("q:" + id.get<std::string>(), 0, 2 * s);
    double x = 2 * s + 2 * gap;
    int rank = 0;
    const int k = report["strategies"][focus].value("k", 5);
    for (const auto& c : (*q)["candidates"]) {
      if (rank >= k) break;
      const std::string tile = c["tile"];
      image("t:" + tile, x, s);
      if (tile == top1)
        boxes.push_back(
            {{"x", x - 2}, {"y", y - 2}, {"x2", x + s + 2}, {"y2", y + s + 2}, {"kind", "judge top-1"}});
      if (c["positive"].get<bool>())
        boxes.push_back(
            {{"x", x + 3}, {"y", y + 3}, {"x2", x + s - 3}, {"y2", y + s - 3}, {"kind", "positive"}});
      x += s + gap;
      ++rank;
    }
    width = std::max(width, x);
    row_y = y + s + 2 * gap;
  }
  const double height = std::max(row_y, 1.0);
  json spec =
      base_spec(fmt::format("{} queries ({}): query, then the top-K in baseline order", group, focus));
  spec["width"] = width;
  spec["height"] = height;
  const json xs = {{"type", "quantitative"},
                   {"scale", {{"domain", json::array({0, width})}, {"range", json::array({0, width})}}},
                   {"axis", nullptr}};
  const json ys = {{"type", "quantitative"},
                   {"scale", {{"domain", json::array({0, height})}, {"range", json::array({0, height})}}},
                   {"axis", nullptr}};
  const auto enc = [&](bool two) {
    json e = {{"x", xs}, {"y", ys}};
    e["x"]["field"] = "x";
    e["y"]["field"] = "y";
    if (two) {
      e["x2"] = {{"field", "x2"}};
      e["y2"] = {{"field", "y2"}};
    }
    return e;
  };
  json image_enc = enc(true);
  image_enc["url"] = {{"field", "url"}, {"type", "nominal"}};
  json text_enc = enc(false);
  text_enc["text"] = {{"field", "text"}};
  json box_enc = enc(true);
  box_enc["stroke"] = {{"field", "kind"},
                       {"type", "nominal"},
                       {"title", nullptr},
                       {"scale",
                        {{"domain", json::array({"judge top-1", "positive"})},
                         {"range", json::array({"#1f5fd6", "#2a9d3f"})}}}};
  spec["layer"] = json::array({{{"data", {{"values", images}}},
                                {"mark", {{"type", "image"}, {"aspect", false}, {"aria", false}}},
                                {"encoding", image_enc}},
                               {{"data", {{"values", boxes}}},
                                {"mark", {{"type", "rect"}, {"fillOpacity", 0}, {"strokeWidth", 3}}},
                                {"encoding", box_enc}},
                               {{"data", {{"values", labels}}},
                                {"mark", {{"type", "text"}, {"align", "left"}, {"fontSize", 11}}},
                                {"encoding", text_enc}}});
  return {"examples_" + group, "Examples: " + group,
          fmt::format(
              "Queries whose top-1 {} changed ({}): the query panorama, then its top-K candidates in "
              "retrieval order; blue outline: the judge's top-1, green: the positive (the paper's Figure 5).",
              group == "unchanged" ? "correctness was not" : "was " + group + " when the judge", focus),
          spec};
}

}  // namespace

std::vector<Figure> build_figures(const json& report, const json& queries, const Thumbnails& thumbs,
                                  const ReportConfig& config) {
  std::vector<Figure> figures = {recall_bars(report)};
  std::vector<std::string> pointwise, yes_no, pairwise, with_mass;
  for (const auto& n : report["strategy_order"]) {
    const std::string name = n;
    const json& s = report["strategies"][name];
    const std::string strategy = s["strategy"];
    if (!s.contains("diagnostics")) continue;
    if (strategy.starts_with("pointwise")) pointwise.push_back(name);
    if (strategy.starts_with("pointwise-yesno")) yes_no.push_back(name);
    if (strategy == "pairwise") pairwise.push_back(name);
    if (s["diagnostics"]["covered_mass"].is_object()) with_mass.push_back(name);
  }
  if (!pointwise.empty()) figures.push_back(score_distributions(report, pointwise));
  if (!yes_no.empty()) figures.push_back(reliability(report, yes_no));
  if (!pairwise.empty()) figures.push_back(accuracy_by_gap(report, pairwise));
  if (!with_mass.empty()) figures.push_back(covered_mass(report, with_mass));
  bool any_meters = report["baseline"]["meter_error_cdf"].is_array();
  if (any_meters) figures.push_back(meter_cdf(report));
  figures.push_back(cost_accuracy(report));
  if (report.contains("examples") && report["examples"]["strategy"].is_string())
    for (const char* group : {"fixed", "broken", "unchanged"})
      if (!report["examples"][group].empty())
        figures.push_back(qualitative(report, queries, thumbs, group, config));
  return figures;
}

}  // namespace georank::report

namespace georank {

Figure cost_accuracy_figure(std::span<const CostPoint> points, const std::string& title) {
  using nlohmann::json;
  const auto front = pareto_front(points);
  json values = json::array();
  for (std::size_t i = 0; i < points.size(); ++i)
    values.push_back({{"name", points[i].name},
                      {"group", points[i].group.empty() ? points[i].name : points[i].group},
                      {"judgments", points[i].cost},
                      {"r1", 100 * points[i].value},
                      {"front", static_cast<bool>(front[i])}});
  json spec = report::base_spec(title);
  spec["data"] = {{"values", values}};
  spec["width"] = 420;
  spec["height"] = 280;
  const json x = {{"field", "judgments"}, {"type", "quantitative"}, {"title", "judgments per query"}};
  const json y = {
      {"field", "r1"}, {"type", "quantitative"}, {"title", "R@1 (%)"}, {"scale", {{"zero", false}}}};
  const json tooltip = json::array({{{"field", "name"}, {"type", "nominal"}},
                                    {{"field", "judgments"}, {"type", "quantitative"}, {"format", ".1f"}},
                                    {{"field", "r1"}, {"type", "quantitative"}, {"format", ".1f"}},
                                    {{"field", "front"}, {"type", "nominal"}, {"title", "on the front"}}});
  const json on_front = {{"filter", "datum.front"}};
  const json scale = {{"scheme", "tableau20"}};
  // Few points: label them all; many (a simulation): label the front only.
  const json labelled = points.size() <= 12 ? json::array() : json::array({on_front});
  spec["layer"] = json::array(
      {{{"transform", json::array({on_front})},
        {"mark",
         {{"type", "line"}, {"interpolate", "step-after"}, {"color", "#888"}, {"strokeDash", {4, 3}}}},
        {"encoding", {{"x", x}, {"y", y}, {"order", {{"field", "judgments"}, {"type", "quantitative"}}}}}},
       {{"mark", {{"type", "point"}, {"size", 70}, {"strokeWidth", 2}}},
        {"encoding",
         {{"x", x},
          {"y", y},
          {"color", {{"field", "group"}, {"type", "nominal"}, {"title", "strategy"}, {"scale", scale}}},
          {"fill", {{"field", "group"}, {"type", "nominal"}, {"legend", nullptr}, {"scale", scale}}},
          {"fillOpacity", {{"condition", {{"test", "datum.front"}, {"value", 1}}}, {"value", 0}}},
          {"tooltip", tooltip}}}},
       {{"transform", labelled},
        {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 7}, {"dy", -4}, {"fontSize", 10}}},
        {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "name"}}}}}}});
  return {"cost_accuracy", title,
          "Judgments per query against R@1, one point per system; the dashed line is the Pareto front, "
          "dominated systems are hollow.",
          spec};
}

}  // namespace georank
