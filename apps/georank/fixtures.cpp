#include "commands.hpp"

namespace georank::cli {

void add_fixtures(CLI::App& app) {
  auto* cmd = app.add_subcommand("fixtures",
                                 "Generate test fixtures (tiny random-weight models, synthetic datasets)");
  cmd->require_subcommand(1);
}

}  // namespace georank::cli
