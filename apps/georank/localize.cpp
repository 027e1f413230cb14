// `georank localize --config serve.toml --image photo.jpg`: what POST /v1/localize answers,
// through the same library call (serve/localizer.hpp), without a server. The rerank strategy
// is [serve] strategy (`--strategy NAME`, or none).

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "commands.hpp"
#include "georank/core/atomic_file.hpp"
#include "service_options.hpp"

namespace georank::cli {
namespace {

struct LocalizeOptions {
  ServiceOptions service;
  std::string image;
  int k = 0;
  double heading_deg = 0;
  bool json = false;
};

void run_localize(const LocalizeOptions& o, const CLI::App& cmd) {
  const ServiceConfig config = service_config(o.service);
  const auto localizer = load_localizer(config);
  LocalizeRequest req;
  const std::string bytes = read_file_text(o.image);
  req.image.assign(bytes.begin(), bytes.end());
  req.image_name = o.image;
  if (cmd.count("--k") > 0) req.k = o.k;
  if (cmd.count("--heading-deg") > 0) req.heading_deg = o.heading_deg;
  const nlohmann::json r = localizer->localize(req);
  if (o.json) {
    fmt::print("{}\n", r.dump(2));
    return;
  }
  for (const auto& c : r["caveats"]) fmt::print("NOTE: {}\n", c.get<std::string>());
  const auto& e = r["estimate"];
  if (e.is_null() || e["lat"].is_null())
    fmt::print("estimate: tile {} (no coordinates)\n", e.is_null() ? "none" : e["tile"].get<std::string>());
  else
    fmt::print("estimate: {:.6f}, {:.6f}  (tile {}, from {})\n", e["lat"].get<double>(),
               e["lon"].get<double>(), e["tile"].get<std::string>(), e["source"].get<std::string>());
  const auto print = [](const char* title, const nlohmann::json& rows) {
    fmt::print("{}\n", title);
    for (const auto& c : rows)
      fmt::print(
          "  {:>3}  {:<48} {:>9.4f}{}\n", c["rank"].get<int>() + 1, c["tile"].get<std::string>(),
          c["score"].get<double>(),
          c.contains("baseline_rank") ? fmt::format("  (was {})", c["baseline_rank"].get<int>() + 1) : "");
  };
  print("retrieval top-k:", r["candidates"]);
  if (r["reranked"].is_array())
    print(fmt::format("reranked ({}):", r["strategy"].get<std::string>()).c_str(), r["reranked"]);
  fmt::print("{}\n", r["orientation"]["note"].get<std::string>());
  fmt::print("timings (ms): {}\n", r["timings_ms"].dump());
}

}  // namespace

void add_localize(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("localize", "Localise one image as POST /v1/localize does, without a server");
  auto o = std::make_shared<LocalizeOptions>();
  add_service_options(*cmd, o->service);
  cmd->add_option("--image", o->image, "The street-level image (JPEG, PNG, ...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--k", o->k, "Candidates returned (default: the config's [retrieve] k)");
  cmd->add_option("--heading-deg", o->heading_deg, "Compass heading of the panorama's centre column");
  cmd->add_flag("--json", o->json, "Print the JSON that POST /v1/localize answers");
  cmd->callback([o, cmd] { run_localize(*o, *cmd); });
}

}  // namespace georank::cli
