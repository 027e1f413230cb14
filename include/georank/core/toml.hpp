#pragma once
/// TOML files (prompt templates, run configs) read with toml++ into JSON values, keeping the
/// line of every key for messages, and JSON written back as TOML (resolved configs).

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace georank {

/// A parsed TOML document: tables are objects, arrays arrays, strings, integers (int64),
/// floats, booleans; dates and times are refused (no georank setting is one).
struct TomlDocument {
  std::string source;  ///< the file name messages start with
  nlohmann::json value = nlohmann::json::object();
  /// Line of each key by its dotted path ("strategies.bt.k"), 1-based.
  std::map<std::string, int> lines;

  /// The line of `dotted_key`, or of its nearest enclosing table; 0 when unknown.
  [[nodiscard]] int line_of(const std::string& dotted_key) const;
  /// "source:line" for `dotted_key` ("source" alone when its line is unknown).
  [[nodiscard]] std::string where(const std::string& dotted_key) const;
};

/// Parses `text`. Throws Error(invalid_argument) "source:line:column: not valid TOML: ..." for
/// a syntax error, "source:line: not valid UTF-8 ..." for invalid text, and names the key of a
/// date or time value.
TomlDocument parse_toml(std::string_view text, const std::string& source);
/// Reads and parses a file; Error(not_found) when it cannot be opened, Error(io) when it
/// cannot be read.
TomlDocument read_toml_file(const std::string& path);

/// `value` (an object of scalars, arrays and objects; nulls are left out) as TOML text: scalar
/// keys first, then each object as a [table] (nested objects as [a.b] tables), keys in the
/// object's (sorted) order; a table holding only tables gets no header of its own.
std::string to_toml(const nlohmann::json& value);

}  // namespace georank
