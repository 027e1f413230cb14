#pragma once
/// `georank dataset check`: reads a dataset leniently and lists every problem instead of
/// stopping at the first one.

#include <cstddef>
#include <string>
#include <vector>

#include "georank/data/dataset.hpp"

namespace georank {

/// One problem found in a dataset.
struct DatasetIssue {
  enum class Kind {
    malformed,   ///< a line of a label, list or CSV file that cannot be used
    missing,     ///< a file or directory that does not exist
    unreadable,  ///< a file that exists but cannot be opened, is empty or does not decode
  };
  Kind kind = Kind::malformed;
  std::string where;   ///< "file:line" for malformed lines, else the path
  std::string reason;  ///< human-readable reason

  /// "where: reason".
  [[nodiscard]] std::string to_string() const { return where + ": " + reason; }
};

struct DatasetCheckOptions {
  bool decode_images = false;  ///< decode every image (slow) instead of opening it
  /// Check both splits ("train" and "test") of the protocol; false: only `spec.split`.
  bool all_splits = true;
};

struct DatasetCheckReport {
  /// Queries and tiles per city and split (manifests: city "" and split "").
  struct Count {
    std::string city;
    std::string split;
    std::size_t n_queries = 0;
    std::size_t n_tiles = 0;
  };
  std::vector<Count> counts;
  std::vector<DatasetIssue> issues;  ///< in the order found
  std::size_t n_files_checked = 0;

  [[nodiscard]] bool clean() const { return issues.empty(); }
};

/// Checks the dataset named by `spec` (subset settings are ignored: the whole split is checked).
/// Throws only for problems that stop any check (an unknown dataset kind, a missing root).
DatasetCheckReport check_dataset(const DatasetSpec& spec, const DatasetCheckOptions& options = {});

}  // namespace georank
