#include "georank/data/dataset.hpp"

#include <algorithm>

#include "core/random.hpp"
#include "data/readers.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"

namespace georank {

std::string DatasetSpec::kind() const {
  return dataset.substr(0, dataset.find(':'));
}

std::string DatasetSpec::root() const {
  const auto colon = dataset.find(':');
  return colon == std::string::npos ? std::string() : dataset.substr(colon + 1);
}

DatasetSpec parse_dataset_spec(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw Error(ErrorKind::invalid_argument, "dataset '" + text + "': expected vigor:ROOT or manifest:DIR");
  DatasetSpec spec;
  spec.dataset = text;
  if (spec.kind() != "vigor" && spec.kind() != "manifest")
    throw Error(ErrorKind::invalid_argument, "dataset '" + text + "': unknown kind '" + spec.kind() +
                                                 "' (expected vigor:ROOT or manifest:DIR)");
  return spec;
}

std::vector<std::size_t> subset_indices(std::size_t n, std::size_t n_keep, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  n_keep = std::min(n_keep, n);
  Rng rng(seed);
  for (std::size_t i = 0; i < n_keep; ++i) {
    const auto j = i + static_cast<std::size_t>(rng.below(n - i));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(n_keep);
  std::sort(idx.begin(), idx.end());
  return idx;
}

void Dataset::index() {
  tile_by_id.clear();
  query_by_id.clear();
  for (std::size_t i = 0; i < gallery.size(); ++i)
    if (!tile_by_id.emplace(gallery[i].id, i).second)
      throw Error(ErrorKind::invalid_argument, spec.root() + ": duplicate tile id '" + gallery[i].id + "'");
  for (std::size_t i = 0; i < queries.size(); ++i)
    if (!query_by_id.emplace(queries[i].id, i).second)
      throw Error(ErrorKind::invalid_argument, spec.root() + ": duplicate query id '" + queries[i].id + "'");
}

std::size_t Dataset::tile_index(const std::string& tile_id) const {
  const auto it = tile_by_id.find(tile_id);
  if (it == tile_by_id.end())
    throw Error(ErrorKind::not_found, "tile '" + tile_id + "' is not in the gallery");
  return it->second;
}

const Query& Dataset::query(const std::string& query_id) const {
  const auto it = query_by_id.find(query_id);
  if (it == query_by_id.end())
    throw Error(ErrorKind::not_found, "query '" + query_id + "' is not in the dataset");
  return queries[it->second];
}

Dataset load_dataset(const DatasetSpec& spec) {
  (void)parse_dataset_spec(spec.dataset);  // names a malformed dataset string
  if (spec.subset < 0) throw Error(ErrorKind::invalid_argument, "--subset must be >= 0");
  data::Issues strict;
  Dataset ds;
  ds = spec.kind() == "vigor" ? data::read_vigor(spec, strict) : data::read_manifest(spec, strict);
  ds.n_queries_total = ds.queries.size();
  if (spec.subset > 0) {
    const auto n_keep = static_cast<std::size_t>(spec.subset);
    if (n_keep >= ds.queries.size()) {
      log_warn("subset {} >= {} queries: using all queries", spec.subset, ds.queries.size());
    } else {
      std::vector<Query> kept;
      for (auto i : subset_indices(ds.queries.size(), n_keep, spec.seed))
        kept.push_back(std::move(ds.queries[i]));
      ds.queries = std::move(kept);
    }
  }
  ds.index();
  return ds;
}

}  // namespace georank
