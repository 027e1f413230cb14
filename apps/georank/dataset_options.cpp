#include "dataset_options.hpp"

#include "config_flags.hpp"
#include "georank/core/error.hpp"

namespace georank::cli {

void add_dataset_options(CLI::App& cmd, DatasetSpec& spec) {
  auto flags = bind_flags(cmd, spec);
  flags.at("dataset")->required()->check(
      [](const std::string& text) {
        try {
          (void)parse_dataset_spec(text);
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      },
      "vigor:ROOT or manifest:DIR");
  flags.at("subset")->check(CLI::NonNegativeNumber);
}

}  // namespace georank::cli
