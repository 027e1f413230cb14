#pragma once
// What `georank serve` and `georank localize` share: the serve config file, with the [serve]
// flags given on the command line over its [serve] table, and the localizer the CLI builds
// (with the simulated judge available).

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "config_flags.hpp"
#include "georank/serve/localizer.hpp"
#include "georank/serve/serve_config.hpp"

namespace georank::cli {

struct ServiceOptions {
  std::string config;
  ServeConfig flags;  // the values of the flags given
  BoundFlags bound;
};

/// Adds --config and every [serve] flag.
void add_service_options(CLI::App& cmd, ServiceOptions& o);
/// The config file with the flags given over its [serve] table.
ServiceConfig service_config(const ServiceOptions& o);
/// Loads the localizer, printing each loading stage on stderr.
std::unique_ptr<Localizer> load_localizer(const ServiceConfig& config);

}  // namespace georank::cli
