#include "common_flags.hpp"

#include "georank/retrieval/retrieval.hpp"

namespace georank::cli {

CLI::Option* add_threads_option(CLI::App& cmd, int& threads, const std::string& help) {
  return cmd.add_option("--threads", threads, help)->check(CLI::Range(0, kMaxThreads))->capture_default_str();
}

void add_check_only_flag(CLI::App& cmd, bool& check_only) {
  cmd.add_flag(kCheckOnlyFlag, check_only, "Check the settings and stop")->group("");
}

std::vector<PathArgument> with_sidecar(const std::string& flag, const std::string& path) {
  if (path.empty()) return {};
  return {{flag, path}, {flag + " (its sidecar)", meta_path_for(path)}};
}

}  // namespace georank::cli
