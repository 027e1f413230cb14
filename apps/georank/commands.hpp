#pragma once
// Each subcommand lives in its own file and registers itself on the root app.

#include <CLI/CLI.hpp>

namespace georank::cli {

void add_doctor(CLI::App& app);
void add_fixtures(CLI::App& app);
void add_simulate(CLI::App& app);

}  // namespace georank::cli
