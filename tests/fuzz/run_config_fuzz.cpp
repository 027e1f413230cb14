// `georank run` config files (TOML).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/eval/experiment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "run.toml");
  try {
    const auto config = georank::read_experiment_config(path);
    (void)georank::resolved_toml(config);
  } catch (const georank::Error&) {
  }
  return 0;
}
