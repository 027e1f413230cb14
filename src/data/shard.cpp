#include "georank/data/shard.hpp"

#include <fmt/format.h>

#include <iterator>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/core/parse_number.hpp"
#include "georank/data/dataset.hpp"

namespace georank {
namespace {

template <class T>
void keep_block(std::vector<T>& rows, const Shard& shard) {
  const auto [begin, end] = shard_range(rows.size(), shard);
  std::vector<T> kept(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(begin)),
                      std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(end)));
  rows = std::move(kept);
}

}  // namespace

Shard parse_shard(const std::string& text) {
  if (text.empty()) return {};
  const auto fail = [&](const char* why) {
    return Error(ErrorKind::invalid_argument,
                 fmt::format("--shard '{}': {} (expected I/N with 0 <= I < N)", text, why));
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw fail("no '/'");
  const auto index = parse_integer<std::size_t>(std::string_view(text).substr(0, slash));
  const auto count = parse_integer<std::size_t>(std::string_view(text).substr(slash + 1));
  if (!index || !count) throw fail("I and N must be whole numbers");
  if (*count < 1) throw fail("N must be at least 1");
  if (*index >= *count) throw fail("I must be less than N");
  return {*index, *count};
}

std::string to_string(const Shard& shard) {
  return shard.whole() ? std::string() : fmt::format("{}/{}", shard.index, shard.count);
}

nlohmann::json to_json(const Shard& shard) {
  return {{"index", shard.index}, {"count", shard.count}};
}

std::pair<std::size_t, std::size_t> shard_range(std::size_t n, const Shard& shard) {
  if (shard.whole()) return {0, n};
  // floor(n * i / N) without overflow: n = q * N + r, so it is q * i + floor(r * i / N).
  const std::size_t q = n / shard.count;
  const std::size_t r = n % shard.count;
  const auto at = [&](std::size_t i) { return q * i + r * i / shard.count; };
  return {at(shard.index), at(shard.index + 1)};
}

void apply_shard(Dataset& dataset, const Shard& shard, bool gallery) {
  if (shard.whole()) return;
  keep_block(dataset.queries, shard);
  if (gallery) keep_block(dataset.gallery, shard);
  dataset.shard = shard;
  dataset.gallery_sharded = gallery;
  dataset.index();
}

void record_shard(nlohmann::json& meta, const Dataset& dataset) {
  if (dataset.shard.whole()) return;
  nlohmann::json j = to_json(dataset.shard);
  j["gallery"] = dataset.gallery_sharded;
  meta["shard"] = std::move(j);
}

}  // namespace georank
