#pragma once
// A small RFC 4180 CSV reader: a header row naming the columns, quoted fields with "" escapes
// and embedded commas or line breaks, "\r\n" or "\n" line ends.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace georank::csv {

struct Row {
  std::size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

struct Table {
  std::string path;
  std::vector<std::string> header;
  std::vector<Row> rows;

  // Column index by name, nullopt when absent.
  [[nodiscard]] std::optional<std::size_t> column(const std::string& name) const;
  // Column index by name; throws Error(invalid_argument) naming the file when absent.
  [[nodiscard]] std::size_t require_column(const std::string& name) const;
};

// Reads a CSV file with a header row. Blank lines are skipped. Throws Error(not_found) for a
// missing file and Error(invalid_argument) naming file:line for an unterminated quote.
// Rows whose field count differs from the header are kept as they are; callers report them.
Table read(const std::string& path);

// Quotes a field when it contains a comma, quote or line break.
std::string quote(const std::string& field);

}  // namespace georank::csv
