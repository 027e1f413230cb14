// `georank run` config files (TOML).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "run.toml");
  try {
    (void)georank::cli::read_run_config(path).resolved.dump();
  } catch (const georank::Error&) {
  }
  return 0;
}
