#include "data/csv.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "georank/core/error.hpp"
#include "georank/core/utf8.hpp"

namespace georank::csv {

std::optional<std::size_t> Table::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

std::size_t Table::require_column(const std::string& name) const {
  if (auto c = column(name)) return *c;
  throw Error(ErrorKind::invalid_argument, path + ":1: missing column '" + name + "'");
}

Table read(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(ErrorKind::not_found, path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  require_utf8(text, path);

  Table t;
  t.path = path;
  std::vector<Row> records;
  Row cur;
  std::string field;
  bool in_quotes = false;
  bool field_quoted = false;
  std::size_t line = 1;
  cur.line = 1;
  std::size_t quote_line = 0;
  auto end_field = [&] {
    cur.fields.push_back(field);
    field.clear();
    field_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = cur.fields.size() == 1 && cur.fields[0].empty() && !field_quoted;
    if (!blank) records.push_back(cur);
    cur = Row{};
    cur.line = line;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      in_quotes = true;
      field_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_record();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // handled by the '\n'
    } else {
      field.push_back(c);
    }
  }
  if (in_quotes)
    throw Error(ErrorKind::invalid_argument,
                path + ":" + std::to_string(quote_line) + ": unterminated quoted field");
  if (!field.empty() || !cur.fields.empty()) end_record();
  if (records.empty()) throw Error(ErrorKind::invalid_argument, path + ": empty CSV file (no header row)");
  t.header = records.front().fields;
  for (auto& h : t.header) {  // tolerate a UTF-8 byte-order mark and surrounding spaces
    if (h.rfind("\xEF\xBB\xBF", 0) == 0) h.erase(0, 3);
    while (!h.empty() && h.back() == ' ') h.pop_back();
    while (!h.empty() && h.front() == ' ') h.erase(0, 1);
  }
  t.rows.assign(records.begin() + 1, records.end());
  return t;
}

std::string quote(const std::string& f) {
  if (f.find_first_of(",\"\r\n") == std::string::npos) return f;
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace georank::csv
