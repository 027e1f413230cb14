#include "georank/core/toml.hpp"

// toml++ compiled into this file only (header-only mode): no other file sees its headers.
#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 1
#include <toml++/toml.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "georank/core/error.hpp"
#include "georank/core/utf8.hpp"

namespace georank {
namespace {

int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

nlohmann::json to_json(const toml::node& node, const std::string& path, TomlDocument& doc) {
  if (const auto* table = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, child] : *table) {
      const std::string name(key.str());
      const std::string child_path = path.empty() ? name : path + "." + name;
      doc.lines[child_path] = static_cast<int>(key.source().begin.line);
      out[name] = to_json(child, child_path, doc);
    }
    return out;
  }
  if (const auto* array = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : *array) out.push_back(to_json(item, path, doc));
    return out;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  throw Error(ErrorKind::invalid_argument,
              fmt::format("{}:{}: {}: dates and times are not georank settings", doc.source, line_of(node),
                          path.empty() ? "value" : path));
}

void write_value(std::ostream& out, const nlohmann::json& v);

void write_array(std::ostream& out, const nlohmann::json& a) {
  out << "[";
  bool first = true;
  for (const auto& item : a) {
    if (!first) out << ", ";
    first = false;
    write_value(out, item);
  }
  out << "]";
}

void write_value(std::ostream& out, const nlohmann::json& v) {
  if (v.is_string()) {
    toml::value<std::string> s(v.get<std::string>());
    out << s;
  } else if (v.is_boolean()) {
    out << (v.get<bool>() ? "true" : "false");
  } else if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{} does not fit a TOML integer (int64)", v.get<std::uint64_t>()));
  } else if (v.is_number_integer()) {
    out << v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    toml::value<double> d(v.get<double>());
    out << d;
  } else if (v.is_array()) {
    write_array(out, v);
  } else {
    throw Error(ErrorKind::invalid_argument, "to_toml: an object inside an array has no TOML form here");
  }
}

void write_table(std::ostream& out, const nlohmann::json& table, const std::string& name) {
  const auto key = [](const std::string& k) {
    const bool bare = !k.empty() && k.find_first_not_of(
                                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-") == std::string::npos;
    if (bare) return k;
    std::ostringstream quoted;
    quoted << toml::value<std::string>(k);
    return quoted.str();
  };
  // A table holding only tables needs no header of its own ([a.b] defines [a]); an empty one does.
  bool has_values = table.empty();
  for (const auto& [k, v] : table.items()) has_values = has_values || (!v.is_null() && !v.is_object());
  if (!name.empty() && has_values) out << "\n[" << name << "]\n";
  for (const auto& [k, v] : table.items())
    if (!v.is_null() && !v.is_object()) {
      out << key(k) << " = ";
      write_value(out, v);
      out << "\n";
    }
  for (const auto& [k, v] : table.items())
    if (v.is_object()) write_table(out, v, name.empty() ? key(k) : name + "." + key(k));
}

}  // namespace

int TomlDocument::line_of(const std::string& dotted_key) const {
  for (std::string k = dotted_key; !k.empty();) {
    if (const auto it = lines.find(k); it != lines.end()) return it->second;
    const auto dot = k.rfind('.');
    if (dot == std::string::npos) break;
    k.resize(dot);
  }
  return 0;
}

std::string TomlDocument::where(const std::string& dotted_key) const {
  const int line = line_of(dotted_key);
  return line > 0 ? fmt::format("{}:{}", source, line) : source;
}

TomlDocument parse_toml(std::string_view text, const std::string& source) {
  require_utf8(text, source);
  TomlDocument doc;
  doc.source = source;
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}:{}:{}: not valid TOML: {}", source, e.source().begin.line,
                            e.source().begin.column, e.description()));
  }
  doc.value = to_json(table, "", doc);
  return doc;
}

TomlDocument read_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::not_found, fmt::format("{}: cannot open the file", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, fmt::format("{}: cannot read the file", path));
  return parse_toml(text.str(), path);
}

std::string to_toml(const nlohmann::json& value) {
  if (!value.is_object()) throw Error(ErrorKind::invalid_argument, "to_toml: the value must be an object");
  std::ostringstream out;
  write_table(out, value, "");
  std::string text = out.str();
  if (text.starts_with("\n")) text.erase(0, 1);
  return text;
}

}  // namespace georank
