#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "exit_status.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"

namespace {

// CLI11 reports a mistyped subcommand as "A subcommand is required" (the word is taken for
// an unexpected positional). Walks the leading words of the command line instead and names
// the first one that is no subcommand of the command before it; `parent` is set to that
// command's path ("georank fixtures").
const char* unknown_subcommand(CLI::App& app, int argc, char** argv, std::string& parent) {
  CLI::App* current = &app;
  parent = app.get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word.front() == '-') return nullptr;
    const auto subcommands = current->get_subcommands([](CLI::App*) { return true; });
    if (subcommands.empty()) return nullptr;
    const auto named = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](const CLI::App* sub) { return sub->check_name(word); });
    if (named == subcommands.end()) return argv[i];
    current = *named;
    parent += " " + current->get_name();
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = georank::cli;
  CLI::App app{"georank: two-stage cross-view geolocalization (retrieval + VLM reranking)", "georank"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "georank 0.1.0");
  cli::add_doctor(app);
  cli::add_fixtures(app);
  cli::add_score(app);
  cli::add_demo(app);
  cli::add_dataset(app);
  cli::add_eval(app);
  cli::add_retrieve(app);
  cli::add_embed(app);
  cli::add_rerank(app);
  cli::add_simulate(app);
  cli::add_run(app);
  cli::add_report(app);
  cli::add_serve(app);
  cli::add_localize(app);
  cli::add_merge(app);
  cli::add_index(app);
  try {
    std::string parent;
    if (const char* word = unknown_subcommand(app, argc, argv, parent)) {
      georank::log_error("unknown subcommand '{}' of '{}' (see '{} --help')", word, parent, parent);
      return cli::kExitBadInput;
    }
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli::parse_error_exit(app, e);
  } catch (const georank::Error& e) {
    georank::log_error("{}", e.what());
    return georank::exit_code(e.kind());
  } catch (const std::filesystem::filesystem_error& e) {
    georank::log_error("{}", e.what());
    return cli::kExitIo;
  } catch (const nlohmann::json::exception& e) {
    // Raised by strict JSON access (at(), get<T>()) on an input file that has the wrong shape.
    georank::log_error("malformed JSON input: {}", e.what());
    return cli::kExitBadInput;
  } catch (const std::exception& e) {
    georank::log_error("internal error (please report it): {}", e.what());
    return cli::kExitInternal;
  }
  return cli::kExitOk;
}
