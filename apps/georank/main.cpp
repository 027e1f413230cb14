#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "georank/error.hpp"
#include "georank/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"georank: two-stage cross-view geolocalization (retrieval + VLM reranking)", "georank"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "georank 0.1.0");
  georank::cli::add_doctor(app);
  georank::cli::add_fixtures(app);
  georank::cli::add_score(app);
  georank::cli::add_demo(app);
  georank::cli::add_dataset(app);
  georank::cli::add_eval(app);
  georank::cli::add_retrieve(app);
  georank::cli::add_embed(app);
  georank::cli::add_rerank(app);
  georank::cli::add_simulate(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const georank::Error& e) {
    georank::log_error("{}", e.what());
    return georank::exit_code(e.kind());
  } catch (const std::exception& e) {
    georank::log_error("{}", e.what());
    return 1;
  }
  return 0;
}
