#include "service_options.hpp"

#include "georank/core/log.hpp"
#include "georank/fixtures/simulation.hpp"

namespace georank::cli {

void add_service_options(CLI::App& cmd, ServiceOptions& o) {
  cmd.add_option(
         "--config", o.config,
         "Serve config (TOML): a run config, e.g. a run's run.resolved.toml, with an optional [serve] table")
      ->required()
      ->check(CLI::ExistingFile);
  o.bound = bind_flags(cmd, o.flags);
}

ServiceConfig service_config(const ServiceOptions& o) {
  ServiceConfig c = read_service_config(o.config);
  const nlohmann::json all = config_to_json(o.flags);
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [name, option] : o.bound)
    if (option->count() > 0) given[config_detail::key_of(name)] = all.at(config_detail::key_of(name));
  config_from_json(c.serve, given, "command line");
  validate(c.serve);
  return c;
}

std::unique_ptr<Localizer> load_localizer(const ServiceConfig& config) {
  LocalizerHooks hooks;
  hooks.make_judge = make_step_backend;
  hooks.on_status = [](const std::string& line) { log_info("{}", line); };
  return std::make_unique<Localizer>(config, hooks);
}

}  // namespace georank::cli
