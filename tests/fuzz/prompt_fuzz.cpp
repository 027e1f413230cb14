// Prompt templates (TOML).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "georank/core/error.hpp"
#include "georank/rerank/prompt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto prompt = georank::parse_prompt_template(text, "fuzz.toml");
    (void)georank::prompt_record(prompt).dump();
  } catch (const georank::Error&) {
  }
  return 0;
}
