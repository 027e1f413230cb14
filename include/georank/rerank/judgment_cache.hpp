#pragma once
/// The judgment cache: every VLM judgment stored in SQLite (WAL mode) the moment the backend
/// returns it, so a killed run resumes without asking a stored question again. A judgment's
/// key is (the judge's identity: model files and every setting that changes numbers, prompt
/// template SHA-256, ordered image content hashes, answer set, generation settings, the exact
/// request). Many processes may share one cache file.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/vlm/vlm.hpp"

namespace georank {

struct JudgmentKey {
  std::string judge_sha256;            ///< JudgeIdentity::digest() of the judge
  std::string prompt_sha256;           ///< template hash (empty when not from a template)
  std::vector<std::string> image_ids;  ///< Image::id of each image, in marker order
  std::vector<std::string> answers;    ///< closed answer set, in order
  nlohmann::json generation;           ///< max_tokens, stop, temperature, seed, prefill, cue
  std::string request_sha256;          ///< SHA-256 of the whole request (text included)

  /// SHA-256 over all fields: the database key.
  [[nodiscard]] std::string digest() const;
};

/// The key of `request` for the judge whose JudgeIdentity::digest() is `judge_sha256`.
JudgmentKey judgment_key(const std::string& judge_sha256, const std::string& prompt_sha256,
                         const VlmRequest& request);

/// JSON form of a response (non-finite numbers as "nan"/"inf"/"-inf", timings dropped) and
/// back; response_from_json(response_to_json(r)) reproduces every stored double exactly.
nlohmann::json response_to_json(const VlmResponse& response);
VlmResponse response_from_json(const nlohmann::json& j);

/// A SQLite judgment database. Opening creates the file and schema if needed. Not
/// thread-safe: use one object per thread. Any number of processes and threads may open the
/// same file at once (WAL mode; a writer waits up to a minute for another's transaction).
class JudgmentCache {
 public:
  /// Throws Error(io) when the file cannot be opened or is not a judgment database, and
  /// Error(invalid_argument) for a cache written before judges had identities (its judgments
  /// cannot be told apart by judge setting).
  explicit JudgmentCache(const std::string& path);
  ~JudgmentCache();
  JudgmentCache(JudgmentCache&&) noexcept;
  JudgmentCache& operator=(JudgmentCache&&) noexcept;

  /// The stored response (timings zero, n_decoded_tokens zero), or nullopt.
  [[nodiscard]] std::optional<VlmResponse> find(const JudgmentKey& key) const;
  /// Stores judgments in one transaction, durable when it returns (it survives SIGKILL), and
  /// returns them as stored. A key that is already stored (another process computed the same
  /// judgment at the same time) keeps its first value, and that value is returned for it, so
  /// every process answers alike.
  std::vector<VlmResponse> store(std::span<const std::pair<JudgmentKey, VlmResponse>> judgments);
  /// True when the file exists but this process may not write it (or its folder): it is
  /// read (immutable), and store() keeps nothing.
  [[nodiscard]] bool read_only() const;
  /// Records a judge's identity (in table `judges`, by digest) so a cache can be read by judge.
  void add_judge(const JudgeIdentity& judge);
  /// Number of stored judgments.
  [[nodiscard]] std::int64_t size() const;
  [[nodiscard]] const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A VlmBackend that answers from a JudgmentCache and sends only the misses of each run()
/// call to `inner`, in one batch, storing them before returning. Keeps references to
/// `inner` and `cache`. Not thread-safe.
class CachingBackend final : public VlmBackend {
 public:
  CachingBackend(VlmBackend& inner, JudgmentCache& cache, std::string prompt_sha256 = {});
  /// The template hash that goes into the keys of the following requests.
  void set_prompt_sha256(std::string prompt_sha256) { prompt_sha256_ = std::move(prompt_sha256); }

  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override;
  [[nodiscard]] JudgeIdentity identity() const override { return inner_.identity(); }
  [[nodiscard]] std::string name() const override { return inner_.name(); }

  [[nodiscard]] std::int64_t n_hits() const { return n_hits_; }
  [[nodiscard]] std::int64_t n_misses() const { return n_misses_; }

 private:
  VlmBackend& inner_;
  JudgmentCache& cache_;
  std::string prompt_sha256_;
  std::string judge_sha256_;  ///< the inner judge's identity digest, asked for on the first run()
  std::int64_t n_hits_ = 0;
  std::int64_t n_misses_ = 0;
};

}  // namespace georank
