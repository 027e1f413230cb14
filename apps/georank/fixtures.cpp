#include "commands.hpp"

namespace georank::cli {

void add_fixtures(CLI::App& app) {
  auto* cmd = app.add_subcommand("fixtures",
                                 "Generate test fixtures (tiny random-weight models, synthetic datasets)");
  cmd->require_subcommand(1);
  add_fixtures_vlm(*cmd);
  add_fixtures_dataset(*cmd);
}

}  // namespace georank::cli
