#pragma once
// Each subcommand lives in its own file and registers itself on the root app.

#include <CLI/CLI.hpp>

namespace georank::cli {

void add_doctor(CLI::App& app);
void add_fixtures(CLI::App& app);
void add_score(CLI::App& app);
void add_demo(CLI::App& app);
// `georank fixtures` sub-subcommands, one file each.
void add_fixtures_vlm(CLI::App& fixtures);
void add_fixtures_dataset(CLI::App& fixtures);
void add_dataset(CLI::App& app);
void add_eval(CLI::App& app);
void add_retrieve(CLI::App& app);
void add_embed(CLI::App& app);
void add_simulate(CLI::App& app);
void add_rerank(CLI::App& app);
void add_run(CLI::App& app);
void add_report(CLI::App& app);
void add_serve(CLI::App& app);
void add_localize(CLI::App& app);
void add_merge(CLI::App& app);
void add_index(CLI::App& app);

}  // namespace georank::cli
