// Imported candidates CSV (query_id,tile_id,score).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/data/ranking.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "candidates.csv");
  try {
    for (const auto& r : georank::read_candidates_csv(path)) (void)georank::to_json(r).dump();
  } catch (const georank::Error&) {
  }
  return 0;
}
