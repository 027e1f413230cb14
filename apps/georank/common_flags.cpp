#include "common_flags.hpp"

#include "georank/core/error.hpp"
#include "georank/data/shard.hpp"
#include "georank/retrieval/retrieval.hpp"

namespace georank::cli {

CLI::Option* add_threads_option(CLI::App& cmd, int& threads, const std::string& help) {
  return cmd.add_option("--threads", threads, help)->check(CLI::Range(0, kMaxThreads))->capture_default_str();
}

void add_check_only_flag(CLI::App& cmd, bool& check_only) {
  cmd.add_flag(kCheckOnlyFlag, check_only, "Check the settings and stop")->group("");
}

CLI::Option* add_shard_option(CLI::App& cmd, std::string& shard, const std::string& what) {
  return cmd
      .add_option("--shard", shard,
                  "Only shard I of N (0-based): the I-th of N contiguous blocks of " + what +
                      " in dataset order; georank merge joins the shards' outputs")
      ->type_name("I/N")
      ->check(
          [](const std::string& text) {
            try {
              (void)parse_shard(text);
            } catch (const Error& e) {
              return std::string(e.what());
            }
            return std::string();
          },
          "I/N");
}

std::vector<PathArgument> with_sidecar(const std::string& flag, const std::string& path) {
  if (path.empty()) return {};
  return {{flag, path}, {flag + " (its sidecar)", meta_path_for(path)}};
}

}  // namespace georank::cli
