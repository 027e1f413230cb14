#include "core/sqlite.hpp"

#include <fmt/format.h>

#include "georank/core/error.hpp"

namespace georank::sqlite {

void check(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  std::string message(what);
  if (db != nullptr) {
    const char* file = sqlite3_db_filename(db, "main");
    if (file != nullptr && *file != '\0') message += std::string(" (") + file + ")";
    message += std::string(": ") + sqlite3_errmsg(db);
  } else {
    message += std::string(": ") + sqlite3_errstr(rc);
  }
  throw Error(ErrorKind::backend, message);
}

db_ptr open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK) {
    const std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw Error(ErrorKind::backend, "cannot open SQLite database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db.get(), 10000);
  return db;
}

db_ptr open_read_only(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {  // a URI: '%', '?' and '#' must be escaped
    if (c == '%' || c == '?' || c == '#')
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else
      uri += c;
  }
  uri += "?immutable=1";
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK) {
    const std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw Error(ErrorKind::backend, "cannot open SQLite database " + path + " read-only: " + why);
  }
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  if (error != nullptr) sqlite3_free(error);
  check(rc, db, "SQLite statement failed");
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  check(sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr), db,
        "cannot prepare SQLite statement");
  stmt_.reset(raw);
}

Statement& Statement::bind(int index, std::string_view text) {
  check(sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
        db_, "SQLite bind failed");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(stmt_.get(), index, value), db_, "SQLite bind failed");
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  check(sqlite3_bind_blob64(stmt_.get(), index, blob.data(), blob.size(), SQLITE_TRANSIENT), db_,
        "SQLite bind failed");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  check(rc, db_, "SQLite step failed");
  return rc == SQLITE_ROW;
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::int64_t Statement::column_int(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}

std::string Statement::column_text(int col) const {
  const auto* text = sqlite3_column_text(stmt_.get(), col);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

std::span<const std::uint8_t> Statement::column_blob(int col) const {
  const void* data = sqlite3_column_blob(stmt_.get(), col);
  const int size = sqlite3_column_bytes(stmt_.get(), col);
  return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)};
}

Transaction::Transaction(sqlite3* db) : db_(db) {
  exec(db, "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  exec(db_, "COMMIT");
  done_ = true;
}

}  // namespace georank::sqlite
