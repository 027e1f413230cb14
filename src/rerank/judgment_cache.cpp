#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <unistd.h>

#include "core/sqlite.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/rerank/judgment_cache.hpp"

namespace georank {
namespace {

// Schema 2: judgments keyed on the judge's full identity (table `judges` holds them).
constexpr int kSchemaVersion = 2;
// Concurrent writers queue on SQLite's write lock; a store is one short transaction.
constexpr int kBusyTimeoutMs = 60000;

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
  const nlohmann::json j = {{"judge", judge_sha256}, {"prompt", prompt_sha256},  {"images", image_ids},
                            {"answers", answers},    {"generation", generation}, {"request", request_sha256}};
  return sha256_of(j.dump());
}

JudgmentKey judgment_key(const std::string& judge_sha256, const std::string& prompt_sha256,
                         const VlmRequest& r) {
  JudgmentKey k;
  k.judge_sha256 = judge_sha256;
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
  bool read_only = false;
  sqlite::db_ptr db;
  std::optional<sqlite::Statement> find;
  std::optional<sqlite::Statement> insert;
  std::optional<sqlite::Statement> add_judge;

  VlmResponse parse(const std::string& text, const std::string& digest) const {
    try {
      return response_from_json(nlohmann::json::parse(text));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::io,
                  fmt::format("judgment cache {}: corrupt row {}: {}", path, digest, e.what()));
    }
  }
  std::optional<VlmResponse> lookup(const std::string& digest) {
    find->bind(1, digest);
    std::optional<std::string> text;
    if (find->step()) text = find->column_text(0);
    // Reset at once: a statement left stepping holds a read snapshot, and a later write from
    // that snapshot fails with SQLITE_BUSY once another process has written.
    find->reset();
    if (!text) return std::nullopt;
    return parse(*text, digest);
  }
};

JudgmentCache::JudgmentCache(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) {
    std::error_code ec;  // like every output: the cache's folder is made when missing
    std::filesystem::create_directories(folder, ec);
  }
  // A cache this process may not write (a shared, read-only copy) is still read: SQLite in
  // WAL mode needs to write beside the file even to read it, so it is opened immutable.
  const std::string dir = folder.empty() ? "." : folder.string();
  impl_->read_only = std::filesystem::exists(path) &&
                     (::access(path.c_str(), W_OK) != 0 || ::access(dir.c_str(), W_OK) != 0);
  if (impl_->read_only) {
    try {
      impl_->db = sqlite::open_read_only(path);
      sqlite::Statement tables(impl_->db.get(),
                               "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('judgments', 'judges')");
      if (!tables.step() || tables.column_int(0) != 2)
        throw Error(ErrorKind::io, "no judgments and judges tables");
      impl_->find.emplace(impl_->db.get(), "SELECT response FROM judgments WHERE key = ?1");
    } catch (const Error& e) {
      throw Error(
          ErrorKind::io,
          fmt::format("judgment cache {} (read-only) is not a usable judgment database: {}", path, e.what()));
    }
    log_warn("judgment cache {} is read-only: its judgments are used, new ones are not stored", path);
    return;
  }
  try {
    impl_->db = sqlite::open(path);
  } catch (const Error& e) {
    throw Error(ErrorKind::io, fmt::format("cannot open judgment cache {}: {}", path, e.what()));
  }
  sqlite3* db = impl_->db.get();
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  try {
    // WAL + synchronous=NORMAL: a committed transaction survives the process being killed.
    sqlite::exec(db, "PRAGMA journal_mode=WAL");
    sqlite::exec(db, "PRAGMA synchronous=NORMAL");
    {
      sqlite::Statement old(
          db, "SELECT COUNT(*) FROM pragma_table_info('judgments') WHERE name = 'model_fingerprint'");
      if (old.step() && old.column_int(0) > 0)
        throw Error(
            ErrorKind::invalid_argument,
            fmt::format(
                "judgment cache {} was written by an older georank whose keys hold only the model "
                "files, so its judgments cannot be told apart by judge setting; give a new --cache file",
                path));
    }
    sqlite::exec(db,
                 "CREATE TABLE IF NOT EXISTS judges ("
                 " sha256 TEXT PRIMARY KEY NOT NULL,"
                 " identity TEXT NOT NULL);"
                 "CREATE TABLE IF NOT EXISTS judgments ("
                 " key TEXT PRIMARY KEY NOT NULL,"
                 " judge_sha256 TEXT NOT NULL,"
                 " prompt_sha256 TEXT NOT NULL,"
                 " image_ids TEXT NOT NULL,"
                 " answers TEXT NOT NULL,"
                 " generation TEXT NOT NULL,"
                 " request_sha256 TEXT NOT NULL,"
                 " response TEXT NOT NULL,"
                 " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))");
    {
      sqlite::Statement version(db, "PRAGMA user_version");
      const bool current = version.step() && version.column_int(0) == kSchemaVersion;
      version.reset();
      if (!current) sqlite::exec(db, "PRAGMA user_version = " + std::to_string(kSchemaVersion));
    }
    impl_->find.emplace(db, "SELECT response FROM judgments WHERE key = ?1");
    impl_->insert.emplace(
        db,
        "INSERT INTO judgments (key, judge_sha256, prompt_sha256, image_ids, answers, generation,"
        " request_sha256, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(key) DO NOTHING");
    impl_->add_judge.emplace(db,
                             "INSERT INTO judges (sha256, identity) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid_argument) throw;
    throw Error(ErrorKind::io,
                fmt::format("judgment cache {} is not a usable judgment database: {}", path, e.what()));
  }
}

JudgmentCache::~JudgmentCache() = default;
JudgmentCache::JudgmentCache(JudgmentCache&&) noexcept = default;
JudgmentCache& JudgmentCache::operator=(JudgmentCache&&) noexcept = default;

const std::string& JudgmentCache::path() const {
  return impl_->path;
}

std::optional<VlmResponse> JudgmentCache::find(const JudgmentKey& key) const {
  return impl_->lookup(key.digest());
}

std::vector<VlmResponse> JudgmentCache::store(
    std::span<const std::pair<JudgmentKey, VlmResponse>> judgments) {
  std::vector<VlmResponse> stored;
  if (judgments.empty()) return stored;
  stored.reserve(judgments.size());
  if (impl_->read_only) {  // answered in the stored form all the same, so outputs do not differ
    for (const auto& [key, response] : judgments)
      stored.push_back(response_from_json(response_to_json(response)));
    return stored;
  }
  sqlite3* db = impl_->db.get();
  sqlite::Transaction tx(db);
  for (const auto& [key, response] : judgments) {
    const std::string digest = key.digest(), text = response_to_json(response).dump();
    sqlite::Statement& s = *impl_->insert;
    s.bind(1, digest)
        .bind(2, key.judge_sha256)
        .bind(3, key.prompt_sha256)
        .bind(4, nlohmann::json(key.image_ids).dump())
        .bind(5, nlohmann::json(key.answers).dump())
        .bind(6, key.generation.dump())
        .bind(7, key.request_sha256)
        .bind(8, text);
    s.step();
    s.reset();
    if (sqlite3_changes(db) > 0) {
      stored.push_back(impl_->parse(text, digest));
    } else {  // stored first by another process (or twice in this batch): its value stands
      auto first = impl_->lookup(digest);
      if (!first)
        throw Error(ErrorKind::backend,
                    fmt::format("judgment cache {}: row {} vanished", impl_->path, digest));
      stored.push_back(std::move(*first));
    }
  }
  tx.commit();
  return stored;
}

bool JudgmentCache::read_only() const {
  return impl_->read_only;
}

void JudgmentCache::add_judge(const JudgeIdentity& judge) {
  if (impl_->read_only) return;
  sqlite::Statement& s = *impl_->add_judge;
  s.bind(1, judge.digest()).bind(2, judge.to_json().dump());
  s.step();
  s.reset();
}

std::int64_t JudgmentCache::size() const {
  sqlite::Statement s(impl_->db.get(), "SELECT COUNT(*) FROM judgments");
  s.step();
  return s.column_int(0);
}

CachingBackend::CachingBackend(VlmBackend& inner, JudgmentCache& cache, std::string prompt_sha256)
    : inner_(inner), cache_(cache), prompt_sha256_(std::move(prompt_sha256)) {}

std::vector<VlmResponse> CachingBackend::run(std::span<const VlmRequest> requests) {
  if (judge_sha256_.empty()) {
    const JudgeIdentity judge = inner_.identity();
    cache_.add_judge(judge);
    judge_sha256_ = judge.digest();
  }
  std::vector<std::optional<VlmResponse>> out(requests.size());
  std::vector<JudgmentKey> keys;
  std::vector<std::string> digests;
  std::vector<VlmRequest> misses;
  std::vector<std::size_t> miss_of;  // request index -> index into misses
  std::vector<std::size_t> miss_key;
  miss_of.assign(requests.size(), SIZE_MAX);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    keys.push_back(judgment_key(judge_sha256_, prompt_sha256_, requests[i]));
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
    // Answer with the stored form, so that a fresh run, a resumed one and a process racing
    // this one on the same cache all see identical values.
    const std::vector<VlmResponse> stored = cache_.store(rows);
    n_misses_ += static_cast<std::int64_t>(misses.size());
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (!out[i]) {
        VlmResponse r = stored[miss_of[i]];
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
