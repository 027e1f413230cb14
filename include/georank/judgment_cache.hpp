#pragma once
/// The judgment cache: every VLM judgment stored in SQLite (WAL mode) the moment the backend
/// returns it, so a killed run resumes without asking a stored question again. A judgment's
/// key is (model fingerprint = text model + mmproj, backend name, prompt template SHA-256,
/// ordered image content hashes, answer set, generation settings, the exact request).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/vlm.hpp"

namespace georank {

struct JudgmentKey {
  std::string model_fingerprint;       ///< VlmBackend::fingerprint()
  std::string backend;                 ///< VlmBackend::name()
  std::string prompt_sha256;           ///< template hash (empty when not from a template)
  std::vector<std::string> image_ids;  ///< Image::id of each image, in marker order
  std::vector<std::string> answers;    ///< closed answer set, in order
  nlohmann::json generation;           ///< max_tokens, stop, temperature, seed, prefill, cue
  std::string request_sha256;          ///< SHA-256 of the whole request (text included)

  /// SHA-256 over all fields: the database key.
  [[nodiscard]] std::string digest() const;
};

/// The key of `request` for a backend of that fingerprint and name.
JudgmentKey judgment_key(const std::string& model_fingerprint, const std::string& backend,
                         const std::string& prompt_sha256, const VlmRequest& request);

/// JSON form of a response (non-finite numbers as "nan"/"inf"/"-inf", timings dropped) and
/// back; response_from_json(response_to_json(r)) reproduces every stored double exactly.
nlohmann::json response_to_json(const VlmResponse& response);
VlmResponse response_from_json(const nlohmann::json& j);

/// A SQLite judgment database. Opening creates the file and schema if needed. Not
/// thread-safe: use one object per thread (SQLite's WAL mode lets them share the file).
class JudgmentCache {
 public:
  /// Throws Error(io) when the file cannot be opened or is not a judgment database.
  explicit JudgmentCache(const std::string& path);
  ~JudgmentCache();
  JudgmentCache(JudgmentCache&&) noexcept;
  JudgmentCache& operator=(JudgmentCache&&) noexcept;

  /// The stored response (timings zero, n_decoded_tokens zero), or nullopt.
  [[nodiscard]] std::optional<VlmResponse> find(const JudgmentKey& key) const;
  /// Stores judgments in one transaction, durable when it returns (it survives SIGKILL).
  /// Storing a key twice throws Error(backend): a judgment is never made twice.
  void store(std::span<const std::pair<JudgmentKey, VlmResponse>> judgments);
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
  [[nodiscard]] std::string fingerprint() const override { return inner_.fingerprint(); }
  [[nodiscard]] std::string name() const override { return inner_.name(); }

  [[nodiscard]] std::int64_t n_hits() const { return n_hits_; }
  [[nodiscard]] std::int64_t n_misses() const { return n_misses_; }

 private:
  VlmBackend& inner_;
  JudgmentCache& cache_;
  std::string prompt_sha256_;
  std::int64_t n_hits_ = 0;
  std::int64_t n_misses_ = 0;
};

}  // namespace georank
