#include "georank/serve/run_catalog.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/eval/report.hpp"
#include "georank/serve/localizer.hpp"

namespace georank {

using nlohmann::json;
namespace fs = std::filesystem;

struct RunCatalog::Loaded {
  std::string id;
  fs::file_time_type stamp;
  ReportResult analysis;
  DataRoots roots;
  std::map<std::string, std::size_t> query_at;  // query id -> position in analysis.queries
};

namespace {

json summary_of(const std::string& folder) {
  return json::parse(read_file_text((fs::path(folder) / "summary.json").string()));
}

// The image file `path` names (null: an unknown id), checked to lie inside `roots`.
std::string image_inside(const DataRoots& roots, const std::string* path, const std::string& what) {
  if (path == nullptr) throw Error(ErrorKind::not_found, "no " + what);
  const auto inside = roots.contain(*path);
  if (!inside) throw Error(ErrorKind::not_found, what + ": its image is not inside the data roots");
  return *inside;
}

const char* kFilters[] = {"all", "fixed", "broken", "kept", "missed", "unparsed"};

json latlon(const std::optional<LatLon>& p) {
  if (!p) return nullptr;
  return {{"lat", p->lat}, {"lon", p->lon}};
}

}  // namespace

RunCatalog::RunCatalog(std::string folder, std::vector<std::string> data_roots)
    : folder_(std::move(folder)), roots_(std::move(data_roots)) {}

RunCatalog::~RunCatalog() = default;

std::map<std::string, std::string> RunCatalog::discover() const {
  std::map<std::string, std::string> out;
  if (folder_.empty()) return out;
  std::error_code ec;
  const fs::path base = fs::absolute(folder_, ec);
  if (fs::exists(base / "summary.json", ec)) {
    out[base.filename().string()] = base.string();
    return out;
  }
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (fs::exists(entry.path() / "summary.json", ec))
      out[entry.path().filename().string()] = entry.path().string();
  }
  return out;
}

json RunCatalog::list() const {
  json runs = json::array();
  for (const auto& [id, folder] : discover()) {
    json row = {{"id", id}};
    try {
      const json s = summary_of(folder);
      json names = json::array();
      const json& rows = s.value("rows", json::array());
      for (std::size_t i = 1; i < rows.size(); ++i) names.push_back(rows[i].value("name", ""));
      row["strategies"] = names;
      row["dataset"] = s.contains("config") ? s["config"].value("dataset", json()) : json();
      json caveats = json::array();
      if (s.value("random_weights", false))
        caveats.push_back("RANDOM-WEIGHT models: the numbers say nothing about any real model.");
      row["caveats"] = caveats;
      if (!rows.empty() && rows[0].contains("metrics")) {
        row["n_queries"] = rows[0]["metrics"].value("n_queries", json());
        row["baseline_recall"] = rows[0]["metrics"].value("recall", json());
      }
    } catch (const std::exception& e) {
      row["error"] = std::string("unreadable summary.json: ") + e.what();
    }
    runs.push_back(std::move(row));
  }
  return {{"runs", runs}};
}

std::shared_ptr<const RunCatalog::Loaded> RunCatalog::load(const std::string& id) const {
  const auto runs = discover();
  const auto it = runs.find(id);
  if (it == runs.end()) throw Error(ErrorKind::not_found, "no run '" + id + "'");
  const auto stamp = fs::last_write_time(fs::path(it->second) / "summary.json");
  std::lock_guard lock(mutex_);
  if (const auto l = loaded_.find(id); l != loaded_.end() && l->second->stamp == stamp) return l->second;
  auto loaded = std::make_shared<Loaded>();
  loaded->id = id;
  loaded->stamp = stamp;
  ReportConfig cfg;
  cfg.drilldown_images = 0;
  cfg.render = false;
  loaded->analysis = analyze_run(it->second, cfg);
  for (const auto& r : roots_) loaded->roots.add(r);
  loaded->roots.add(it->second);
  loaded->roots.add(loaded->analysis.dataset.spec.root());
  for (std::size_t i = 0; i < loaded->analysis.queries.size(); ++i)
    loaded->query_at[loaded->analysis.queries[i]["id"].get<std::string>()] = i;
  loaded_[id] = loaded;
  return loaded;
}

json RunCatalog::run(const std::string& id) const {
  const auto l = load(id);
  const json& r = l->analysis.report;
  json strategies = json::object();
  for (const auto& name : r["strategy_order"]) {
    json row = r["strategies"][name.get<std::string>()];
    for (const char* heavy : {"meter_error_cdf", "diagnostics", "config", "prompt", "metrics"})
      row.erase(heavy);
    strategies[name.get<std::string>()] = row;
  }
  json baseline = r["baseline"];
  baseline.erase("meter_error_cdf");
  json figures = json::array();
  for (const auto& f : l->analysis.figures)
    figures.push_back({{"name", f.name}, {"title", f.title}, {"caption", f.caption}, {"spec", f.spec}});
  return {{"id", id},
          {"n_queries", r["n_queries"]},
          {"gallery_size", r["gallery_size"]},
          {"dataset", r["dataset"]},
          {"ks", r["ks"]},
          {"strategy_order", r["strategy_order"]},
          {"caveats", r["caveats"]},
          {"baseline", baseline},
          {"oracle", r["oracle"]},
          {"strategies", strategies},
          {"figures", figures}};
}

json RunCatalog::queries(const std::string& id, std::int64_t offset, std::int64_t limit,
                         const std::string& strategy, const std::string& filter) const {
  if (offset < 0) throw Error(ErrorKind::invalid_argument, "offset: must not be negative");
  if (limit < 1 || limit > 1000) throw Error(ErrorKind::invalid_argument, "limit: must be in 1..1000");
  bool known_filter = false;
  for (const char* f : kFilters) known_filter = known_filter || filter == f;
  if (!known_filter)
    throw Error(ErrorKind::invalid_argument,
                "filter: '" + filter + "' is not one of all, fixed, broken, kept, missed, unparsed");
  const auto l = load(id);
  const json& order = l->analysis.report["strategy_order"];
  std::string name = strategy;
  if (name.empty() && !order.empty()) name = order[0];
  if (!name.empty() && !l->analysis.report["strategies"].contains(name))
    throw Error(ErrorKind::invalid_argument, "strategy: run '" + id + "' has no strategy '" + name + "'");
  json rows = json::array();
  std::int64_t total = 0;
  for (const auto& q : l->analysis.queries) {
    const json s = name.empty() ? json::object() : q["strategies"][name];
    const std::string category = s.value("category", "");
    const bool unparsed = s.value("unparsed", false);
    const bool keep = filter == "all" || (filter == "unparsed" ? unparsed : category == filter);
    if (!keep) continue;
    if (total >= offset && static_cast<std::int64_t>(rows.size()) < limit) {
      const json& ranked = s.value("ranked", json::array());
      rows.push_back(
          {{"id", q["id"]},
           {"city", q["city"]},
           {"positive_rank", q["positive_rank"]},
           {"category", name.empty() ? json() : json(category)},
           {"unparsed", unparsed},
           {"top1", ranked.empty() ? (q["candidates"].empty() ? json() : q["candidates"][0]["tile"])
                                   : ranked[0]["tile"]}});
    }
    ++total;
  }
  return {{"run", id},        {"strategy", name.empty() ? json() : json(name)},
          {"filter", filter}, {"total", total},
          {"offset", offset}, {"limit", limit},
          {"queries", rows}};
}

json RunCatalog::query(const std::string& id, const std::string& query_id) const {
  const auto l = load(id);
  const auto at = l->query_at.find(query_id);
  if (at == l->query_at.end())
    throw Error(ErrorKind::not_found, "run '" + id + "' has no query '" + query_id + "'");
  const json& q = l->analysis.queries[at->second];
  const Dataset& ds = l->analysis.dataset;
  const Query& query = ds.query(query_id);
  const std::string base = "/v1/runs/" + id;
  json cands = json::array();
  std::size_t rank = 0;
  for (const auto& c : q["candidates"]) {
    const std::string tile_id = c["tile"];
    const auto t = ds.tile_by_id.find(tile_id);
    json row = c;
    row["rank"] = rank++;
    row["center"] = t == ds.tile_by_id.end() ? json() : latlon(ds.gallery[t->second].center);
    row["bounds"] = t == ds.tile_by_id.end() ? json() : tile_bounds(ds.gallery[t->second]);
    row["image_url"] = base + "/images/tile/" + tile_id;
    cands.push_back(std::move(row));
  }
  json semis = json::array();
  for (const auto& s : query.semi_positives) semis.push_back(s.tile_id);
  return {{"run", id},
          {"id", query_id},
          {"city", q["city"]},
          {"gps", latlon(query.gps)},
          {"image_url", base + "/images/query/" + query_id},
          {"positive", query.positive.tile_id},
          {"semi_positives", semis},
          {"positive_rank", q["positive_rank"]},
          {"candidates", cands},
          {"strategy_order", l->analysis.report["strategy_order"]},
          {"strategies", q["strategies"]},
          {"caveats", l->analysis.report["caveats"]}};
}

std::string RunCatalog::query_image_path(const std::string& id, const std::string& query_id) const {
  const auto l = load(id);
  const Dataset& ds = l->analysis.dataset;
  const auto it = ds.query_by_id.find(query_id);
  return image_inside(l->roots, it == ds.query_by_id.end() ? nullptr : &ds.queries[it->second].path,
                      "run '" + id + "' query '" + query_id + "'");
}

std::string RunCatalog::tile_image_path(const std::string& id, const std::string& tile_id) const {
  const auto l = load(id);
  const Dataset& ds = l->analysis.dataset;
  const auto it = ds.tile_by_id.find(tile_id);
  return image_inside(l->roots, it == ds.tile_by_id.end() ? nullptr : &ds.gallery[it->second].path,
                      "run '" + id + "' tile '" + tile_id + "'");
}

}  // namespace georank
