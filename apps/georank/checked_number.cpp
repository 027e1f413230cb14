#include "checked_number.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace georank::cli {

CLI::Validator fits_64_bits(bool is_signed) {
  return CLI::Validator(
      [is_signed](std::string& value) -> std::string {
        const auto first = value.find_first_not_of(" \t");
        if (!is_signed && first != std::string::npos && value[first] == '-')
          return "value " + value + " is negative";
        errno = 0;
        char* end = nullptr;
        if (is_signed) {
          (void)std::strtoll(value.c_str(), &end, 0);
        } else {
          (void)std::strtoull(value.c_str(), &end, 0);
        }
        if (errno == ERANGE)
          return "value " + value + " does not fit a 64-bit " + (is_signed ? "signed" : "unsigned") +
                 " integer";
        return {};  // anything else that is no number is CLI11's conversion error
      },
      is_signed ? "INT64" : "UINT64");
}

}  // namespace georank::cli
