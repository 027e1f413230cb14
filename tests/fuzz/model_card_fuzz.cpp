// Encoder model cards (JSON).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "georank/core/error.hpp"
#include "georank/retrieval/encoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = georank::fuzz::input_file(data, size, "model.card.json");
  try {
    (void)georank::model_card_json(georank::load_model_card(path));
  } catch (const georank::Error&) {
  }
  return 0;
}
