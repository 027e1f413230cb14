// Generated JSON answers (generate-json mode): any model text, with and without a prefill.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rerank/json_answer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* field : {"preference", "score", "answer", ""}) {
    for (const std::string prefill : {std::string(), std::string("{\"preference\": ")}) {
      const auto value = georank::json_answer_field(prefill + std::string(text), field);
      if (value) (void)georank::json_answer_number(*value);
    }
  }
  return 0;
}
