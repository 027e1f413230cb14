// Rankings and candidates JSONL (one query per line).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/data/ranking.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "rankings.jsonl");
  try {
    for (const auto& r : georank::read_rankings(path)) (void)georank::to_json(r).dump();
  } catch (const georank::Error&) {
  }
  return 0;
}
