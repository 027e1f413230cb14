#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <sqlite3.h>

#include "georank/error.hpp"
#include "georank/judgment_cache.hpp"

namespace georank {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, DbClose>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

std::string sha256_of(const std::string& s) {
  return sha256_hex({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

nlohmann::json encode(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double decode(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  throw Error(ErrorKind::invalid_argument, fmt::format("judgment cache: bad number '{}'", s));
}

nlohmann::json encode_all(const std::vector<double>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (double x : v) out.push_back(encode(x));
  return out;
}

std::vector<double> decode_all(const nlohmann::json& j) {
  std::vector<double> out;
  for (const auto& x : j) out.push_back(decode(x));
  return out;
}

}  // namespace

std::string JudgmentKey::digest() const {
  const nlohmann::json j = {{"model", model_fingerprint}, {"backend", backend}, {"prompt", prompt_sha256},
                            {"images", image_ids},        {"answers", answers}, {"generation", generation},
                            {"request", request_sha256}};
  return sha256_of(j.dump());
}

JudgmentKey judgment_key(const std::string& model_fingerprint, const std::string& backend,
                         const std::string& prompt_sha256, const VlmRequest& r) {
  JudgmentKey k;
  k.model_fingerprint = model_fingerprint;
  k.backend = backend;
  k.prompt_sha256 = prompt_sha256;
  for (const auto& img : r.images) {
    if (!img || img->id.empty())
      throw Error(ErrorKind::invalid_argument, "judgment cache: an image of the request has no content id");
    k.image_ids.push_back(img->id);
  }
  k.answers = r.choices;
  k.generation = {{"max_tokens", r.generation.max_tokens},   {"stop", r.generation.stop},
                  {"temperature", r.generation.temperature}, {"seed", r.generation.seed},
                  {"prefill", r.assistant_prefill},          {"answer_cue", r.answer_cue}};
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : r.messages) messages.push_back({m.role, m.content});
  const nlohmann::json whole = {
      {"messages", messages},
      {"raw_prompt", r.raw_prompt ? nlohmann::json(*r.raw_prompt) : nlohmann::json()},
      {"images", k.image_ids},
      {"answers", k.answers},
      {"generation", k.generation}};
  k.request_sha256 = sha256_of(whole.dump());
  return k;
}

nlohmann::json response_to_json(const VlmResponse& r) {
  return {{"logprobs", encode_all(r.logprobs)},         {"probs", encode_all(r.probs)},
          {"covered_mass", encode(r.covered_mass)},     {"text", r.text},
          {"n_prompt_tokens", r.n_prompt_tokens},       {"n_image_tokens", r.n_image_tokens},
          {"n_generated_tokens", r.n_generated_tokens}, {"template_name", r.template_name}};
}

VlmResponse response_from_json(const nlohmann::json& j) {
  VlmResponse r;
  r.logprobs = decode_all(j.at("logprobs"));
  r.probs = decode_all(j.at("probs"));
  r.covered_mass = decode(j.at("covered_mass"));
  r.text = j.at("text").get<std::string>();
  r.n_prompt_tokens = j.at("n_prompt_tokens").get<int>();
  r.n_image_tokens = j.at("n_image_tokens").get<int>();
  r.n_generated_tokens = j.at("n_generated_tokens").get<int>();
  r.template_name = j.at("template_name").get<std::string>();
  return r;
}

struct JudgmentCache::Impl {
  std::string path;
  db_ptr db;
  stmt_ptr find;
  stmt_ptr insert;

  void check(int rc, const char* what) const {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
      throw Error(ErrorKind::backend, fmt::format("judgment cache {}: {}: {}", path, what,
                                                  db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw Error(ErrorKind::io, fmt::format("judgment cache {}: {}: {}", path, sql, msg));
    }
  }
  stmt_ptr prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr), sql);
    return stmt_ptr(s);
  }
};

JudgmentCache::JudgmentCache(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  impl_->db.reset(raw);
  if (rc != SQLITE_OK)
    throw Error(ErrorKind::io, fmt::format("cannot open judgment cache {}: {}", path,
                                           raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(raw, 10000);
  // WAL + synchronous=NORMAL: a committed transaction survives the process being killed.
  impl_->exec("PRAGMA journal_mode=WAL");
  impl_->exec("PRAGMA synchronous=NORMAL");
  impl_->exec(
      "CREATE TABLE IF NOT EXISTS judgments ("
      " key TEXT PRIMARY KEY NOT NULL,"
      " model_fingerprint TEXT NOT NULL,"
      " backend TEXT NOT NULL,"
      " prompt_sha256 TEXT NOT NULL,"
      " image_ids TEXT NOT NULL,"
      " answers TEXT NOT NULL,"
      " generation TEXT NOT NULL,"
      " request_sha256 TEXT NOT NULL,"
      " response TEXT NOT NULL,"
      " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))");
  impl_->find = impl_->prepare("SELECT response FROM judgments WHERE key = ?1");
  impl_->insert = impl_->prepare(
      "INSERT INTO judgments (key, model_fingerprint, backend, prompt_sha256, image_ids, answers, generation,"
      " request_sha256, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
}

JudgmentCache::~JudgmentCache() = default;
JudgmentCache::JudgmentCache(JudgmentCache&&) noexcept = default;
JudgmentCache& JudgmentCache::operator=(JudgmentCache&&) noexcept = default;

const std::string& JudgmentCache::path() const {
  return impl_->path;
}

std::optional<VlmResponse> JudgmentCache::find(const JudgmentKey& key) const {
  sqlite3_stmt* s = impl_->find.get();
  sqlite3_reset(s);
  const std::string digest = key.digest();
  impl_->check(sqlite3_bind_text(s, 1, digest.c_str(), -1, SQLITE_TRANSIENT), "bind");
  const int rc = sqlite3_step(s);
  impl_->check(rc, "lookup");
  if (rc != SQLITE_ROW) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  try {
    return response_from_json(nlohmann::json::parse(text ? text : ""));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::io,
                fmt::format("judgment cache {}: corrupt row {}: {}", impl_->path, digest, e.what()));
  }
}

void JudgmentCache::store(std::span<const std::pair<JudgmentKey, VlmResponse>> judgments) {
  if (judgments.empty()) return;
  impl_->exec("BEGIN IMMEDIATE");
  try {
    sqlite3_stmt* s = impl_->insert.get();
    for (const auto& [key, response] : judgments) {
      sqlite3_reset(s);
      const std::string fields[] = {key.digest(),
                                    key.model_fingerprint,
                                    key.backend,
                                    key.prompt_sha256,
                                    nlohmann::json(key.image_ids).dump(),
                                    nlohmann::json(key.answers).dump(),
                                    key.generation.dump(),
                                    key.request_sha256,
                                    response_to_json(response).dump()};
      for (int i = 0; i < 9; ++i)
        impl_->check(sqlite3_bind_text(s, i + 1, fields[i].c_str(), -1, SQLITE_TRANSIENT), "bind");
      impl_->check(sqlite3_step(s), "insert");
    }
    impl_->exec("COMMIT");
  } catch (...) {
    sqlite3_exec(impl_->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t JudgmentCache::size() const {
  const stmt_ptr s = impl_->prepare("SELECT COUNT(*) FROM judgments");
  impl_->check(sqlite3_step(s.get()), "count");
  return sqlite3_column_int64(s.get(), 0);
}

CachingBackend::CachingBackend(VlmBackend& inner, JudgmentCache& cache, std::string prompt_sha256)
    : inner_(inner), cache_(cache), prompt_sha256_(std::move(prompt_sha256)) {}

std::vector<VlmResponse> CachingBackend::run(std::span<const VlmRequest> requests) {
  const std::string fp = inner_.fingerprint(), backend = inner_.name();
  std::vector<std::optional<VlmResponse>> out(requests.size());
  std::vector<JudgmentKey> keys;
  std::vector<std::string> digests;
  std::vector<VlmRequest> misses;
  std::vector<std::size_t> miss_of;  // request index -> index into misses
  std::vector<std::size_t> miss_key;
  miss_of.assign(requests.size(), SIZE_MAX);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    keys.push_back(judgment_key(fp, backend, prompt_sha256_, requests[i]));
    digests.push_back(keys.back().digest());
    if ((out[i] = cache_.find(keys.back()))) {
      ++n_hits_;
      continue;
    }
    // The same question twice in one batch is asked once.
    for (std::size_t m = 0; m < misses.size(); ++m)
      if (digests[miss_key[m]] == digests[i]) miss_of[i] = m;
    if (miss_of[i] == SIZE_MAX) {
      miss_of[i] = misses.size();
      miss_key.push_back(i);
      misses.push_back(requests[i]);
    }
  }
  if (!misses.empty()) {
    std::vector<VlmResponse> got = inner_.run(misses);
    if (got.size() != misses.size())
      throw Error(ErrorKind::backend, fmt::format("VLM backend returned {} responses for {} requests",
                                                  got.size(), misses.size()));
    std::vector<std::pair<JudgmentKey, VlmResponse>> rows;
    for (std::size_t m = 0; m < misses.size(); ++m) rows.emplace_back(keys[miss_key[m]], got[m]);
    cache_.store(rows);
    n_misses_ += static_cast<std::int64_t>(misses.size());
    // Answer with the stored form so that a fresh run and a resumed one see identical values.
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (!out[i]) {
        VlmResponse r = response_from_json(response_to_json(got[miss_of[i]]));
        r.timings = got[miss_of[i]].timings;
        r.n_decoded_tokens = got[miss_of[i]].n_decoded_tokens;
        out[i] = std::move(r);
      }
  }
  std::vector<VlmResponse> result;
  result.reserve(requests.size());
  for (auto& r : out) result.push_back(std::move(*r));
  return result;
}

}  // namespace georank
