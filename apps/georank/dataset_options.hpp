#pragma once
// The dataset flags every command shares: the fields of DatasetSpec (--dataset --protocol
// --split --cities --subset --seed --labels --m-per-px).

#include <CLI/CLI.hpp>

#include "georank/data/dataset.hpp"

namespace georank::cli {

// Binds the dataset flags of `cmd` to `spec` (which must outlive parsing); --dataset is
// required and checked as it is parsed.
void add_dataset_options(CLI::App& cmd, DatasetSpec& spec);

}  // namespace georank::cli
