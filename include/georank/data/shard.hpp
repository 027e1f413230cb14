#pragma once
/// A deterministic partition of a dataset's queries for scale-out: shard I of N holds the
/// I-th of N contiguous blocks of the queries in dataset order (after the subset), so the
/// shards' outputs, concatenated in shard order, are what one machine writes.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace georank {

struct Dataset;

struct Shard {
  std::size_t index = 0;  ///< 0-based
  std::size_t count = 1;  ///< 1: the whole dataset
  [[nodiscard]] bool whole() const { return count <= 1; }
  friend bool operator==(const Shard&, const Shard&) = default;
};

/// "I/N" with 0 <= I < N (empty: the whole dataset). Throws Error(invalid_argument) naming
/// the text.
Shard parse_shard(const std::string& text);
/// "I/N" ("" for the whole dataset).
std::string to_string(const Shard& shard);
/// {"index": I, "count": N}, as the sidecars record it.
nlohmann::json to_json(const Shard& shard);

/// The half-open row range [begin, end) of `shard` among `n` rows: rows
/// floor(I * n / N) up to floor((I + 1) * n / N).
std::pair<std::size_t, std::size_t> shard_range(std::size_t n, const Shard& shard);

/// Keeps the shard's block of `dataset.queries` (and, with `gallery`, of `dataset.gallery`),
/// re-indexes and records the shard in the dataset. The whole shard changes nothing.
void apply_shard(Dataset& dataset, const Shard& shard, bool gallery = false);

/// Adds {"shard": {"index", "count", "gallery"}} to a step's sidecar when `dataset` is a
/// shard; the whole dataset adds nothing, so unsharded sidecars stay as they were.
void record_shard(nlohmann::json& meta, const Dataset& dataset);

}  // namespace georank
