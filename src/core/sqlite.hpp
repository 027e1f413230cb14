#pragma once
// Thin RAII over SQLite's C API: one place where its return codes become georank errors.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace georank::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, DbCloser>;

/// Throws Error(backend) "<what> (<path>): <sqlite message>" unless `rc` is one of the
/// success codes (SQLITE_OK, SQLITE_ROW, SQLITE_DONE).
void check(int rc, sqlite3* db, std::string_view what);

/// Opens (creating) a database file; busy timeout 10 s. Throws Error(backend) naming the file.
db_ptr open(const std::string& path);
/// Opens an existing database file read-only and immutable (no locks, no -wal/-shm files:
/// for a file this process may not write). Throws Error(backend) naming the file.
db_ptr open_read_only(const std::string& path);
/// Runs one or more statements without results.
void exec(sqlite3* db, const std::string& sql);

/// A prepared statement; reset() before re-use. Bind indices start at 1, columns at 0.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  /// True when a row is available, false when done.
  bool step();
  void reset();
  [[nodiscard]] std::int64_t column_int(int col) const;
  [[nodiscard]] std::string column_text(int col) const;
  [[nodiscard]] std::span<const std::uint8_t> column_blob(int col) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
};

/// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless commit() ran.
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace georank::sqlite
