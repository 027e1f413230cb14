#include "georank/retrieval/embedding_cache.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/sqlite.hpp"
#include "georank/core/error.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS embeddings (
  fingerprint TEXT NOT NULL,
  view TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  dim INTEGER NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (fingerprint, view, path)
);
)sql";

}  // namespace

ImageFileKey image_file_key(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::absolute(path, ec).lexically_normal();
  const auto status = fs::status(p, ec);
  if (ec || !fs::is_regular_file(status)) throw Error(ErrorKind::not_found, "image not found: " + path);
  ImageFileKey key;
  key.path = p.string();
  key.size = static_cast<std::int64_t>(fs::file_size(p, ec));
  const auto mtime = fs::last_write_time(p, ec);
  if (ec) throw Error(ErrorKind::io, "cannot stat image " + path + ": " + ec.message());
  key.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  return key;
}

struct EmbeddingCache::Impl {
  std::string path;
  std::string fingerprint;
  sqlite::db_ptr db;
  std::unique_ptr<sqlite::Statement> select;
  std::unique_ptr<sqlite::Statement> upsert;
};

EmbeddingCache::EmbeddingCache(const std::string& path, std::string fingerprint)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->fingerprint = std::move(fingerprint);
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
  }
  impl_->db = sqlite::open(path);
  sqlite::exec(impl_->db.get(), kSchema);
  impl_->select = std::make_unique<sqlite::Statement>(impl_->db.get(),
                                                      "SELECT size, mtime_ns, dim, vector FROM embeddings "
                                                      "WHERE fingerprint = ?1 AND view = ?2 AND path = ?3");
  impl_->upsert = std::make_unique<sqlite::Statement>(
      impl_->db.get(),
      "INSERT OR REPLACE INTO embeddings (fingerprint, view, path, size, mtime_ns, dim, vector) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
}

EmbeddingCache::~EmbeddingCache() = default;
EmbeddingCache::EmbeddingCache(EmbeddingCache&&) noexcept = default;
EmbeddingCache& EmbeddingCache::operator=(EmbeddingCache&&) noexcept = default;

std::optional<std::vector<float>> EmbeddingCache::find(View view, const ImageFileKey& key) const {
  auto& q = *impl_->select;
  q.reset();
  q.bind(1, impl_->fingerprint).bind(2, to_string(view)).bind(3, key.path);
  std::optional<std::vector<float>> row;
  if (q.step() && q.column_int(0) == key.size && q.column_int(1) == key.mtime_ns) {
    const auto dim = static_cast<std::size_t>(q.column_int(2));
    const auto blob = q.column_blob(3);
    if (blob.size() == dim * sizeof(float)) {  // anything else is a damaged row: recompute
      row.emplace(dim);
      std::memcpy(row->data(), blob.data(), blob.size());
    }
  }
  q.reset();  // ends the read so writers are not held back
  return row;
}

void EmbeddingCache::put(View view, std::span<const ImageFileKey> keys, std::span<const float> rows,
                         std::size_t dim) {
  if (rows.size() != keys.size() * dim)
    throw Error(ErrorKind::invalid_argument, "embedding cache: " + std::to_string(rows.size()) +
                                                 " values for " + std::to_string(keys.size()) + " rows of " +
                                                 std::to_string(dim));
  sqlite::Transaction tx(impl_->db.get());
  auto& q = *impl_->upsert;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(rows.data() + i * dim);
    q.reset();
    q.bind(1, impl_->fingerprint)
        .bind(2, to_string(view))
        .bind(3, keys[i].path)
        .bind(4, keys[i].size)
        .bind(5, keys[i].mtime_ns)
        .bind(6, static_cast<std::int64_t>(dim))
        .bind(7, std::span<const std::uint8_t>(bytes, dim * sizeof(float)));
    q.step();
  }
  q.reset();
  tx.commit();
}

std::size_t EmbeddingCache::count(View view) const {
  sqlite::Statement q(impl_->db.get(),
                      "SELECT COUNT(*) FROM embeddings WHERE fingerprint = ?1 AND view = ?2");
  q.bind(1, impl_->fingerprint).bind(2, to_string(view));
  q.step();
  return static_cast<std::size_t>(q.column_int(0));
}

const std::string& EmbeddingCache::path() const {
  return impl_->path;
}

}  // namespace georank
