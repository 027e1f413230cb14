#pragma once
// The dataset flags every command shares: --dataset --protocol --split --cities --subset
// --seed --labels --m-per-px.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "georank/data/dataset.hpp"

namespace georank::cli {

struct DatasetOptions {
  std::string dataset;
  std::string protocol = "cross-area";
  std::string split = "test";
  std::vector<std::string> cities;
  std::int64_t subset = 0;
  std::uint64_t seed = 0;
  std::string labels = "original";
  std::string m_per_px = "corrected";

  // The spec these flags describe; throws georank::Error for a malformed --dataset.
  [[nodiscard]] DatasetSpec spec() const;
};

// Binds the dataset flags of `cmd` to `options` (which must outlive parsing).
void add_dataset_options(CLI::App& cmd, DatasetOptions& options);

}  // namespace georank::cli
