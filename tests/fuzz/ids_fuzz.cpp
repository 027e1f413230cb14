// .ids files: one id per line naming the rows of an .npy file.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/retrieval/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "input.ids");
  try {
    const auto ids = georank::read_ids(path);
    for (const auto& id : ids)
      if (id.empty()) __builtin_trap();
  } catch (const georank::Error&) {
  }
  return 0;
}
