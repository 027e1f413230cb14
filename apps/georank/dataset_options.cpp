#include "dataset_options.hpp"

#include "checked_number.hpp"

namespace georank::cli {

DatasetSpec DatasetOptions::spec() const {
  DatasetSpec s = parse_dataset_spec(dataset);
  s.protocol = protocol;
  s.split = split;
  s.cities = cities;
  s.subset = subset;
  s.seed = seed;
  s.corrected_labels = labels == "corrected";
  s.original_m_per_px = m_per_px == "original";
  return s;
}

void add_dataset_options(CLI::App& cmd, DatasetOptions& o) {
  cmd.add_option("--dataset", o.dataset, "Dataset: vigor:ROOT or manifest:DIR")->required();
  cmd.add_option("--protocol", o.protocol, "VIGOR protocol")
      ->check(CLI::IsMember({"same-area", "cross-area"}))
      ->capture_default_str();
  cmd.add_option("--split", o.split, "Split")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  cmd.add_option("--cities", o.cities, "VIGOR cities (comma-separated; default: the protocol's cities)")
      ->delimiter(',');
  cmd.add_option("--subset", o.subset, "Use a deterministic subset of N queries (0: all)")
      ->check(fits_64_bits(true))
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--seed", o.seed, "Seed of the query subset")
      ->check(fits_64_bits(false))
      ->capture_default_str();
  cmd.add_option("--labels", o.labels, "VIGOR label files: original or corrected (\"__corrected\")")
      ->check(CLI::IsMember({"original", "corrected"}))
      ->capture_default_str();
  cmd.add_option("--m-per-px", o.m_per_px,
                 "VIGOR ground resolution: corrected per-city values or original 0.114")
      ->check(CLI::IsMember({"corrected", "original"}))
      ->capture_default_str();
}

}  // namespace georank::cli
