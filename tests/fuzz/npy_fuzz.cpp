// .npy embedding matrices: header validation and the full read.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/retrieval/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "input.npy");
  try {
    const auto header = georank::read_npy_header(path);
    const auto m = georank::read_npy(path);
    if (m.rows != header.rows || m.cols != header.cols || m.values.size() != m.rows * m.cols)
      __builtin_trap();
  } catch (const georank::Error&) {
  }
  return 0;
}
