#pragma once
// A CLI11 check for 64-bit integer flags. CLI11 2.1 converts them with strtoll/strtoull and
// does not look at ERANGE, so a 20-digit value silently becomes the type's maximum; this
// check makes it a parse error naming the flag (exit 2).

#include <CLI/CLI.hpp>

namespace georank::cli {

/// Rejects a value outside std::int64_t (`is_signed`) or std::uint64_t (and, for unsigned,
/// a negative value, which strtoull would wrap).
CLI::Validator fits_64_bits(bool is_signed);

}  // namespace georank::cli
