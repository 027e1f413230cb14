#pragma once
// Dataset readers shared by load_dataset (strict: the first problem throws) and check_dataset
// (lenient: every problem is collected and the offending line skipped).

#include <string>
#include <vector>

#include "georank/data/dataset.hpp"
#include "georank/data/dataset_check.hpp"

namespace georank::data {

class Issues {
 public:
  Issues() = default;  // strict
  explicit Issues(std::vector<DatasetIssue>* sink) : sink_(sink) {}

  void malformed(const std::string& where, const std::string& reason) {
    add(DatasetIssue::Kind::malformed, where, reason);
  }
  void missing(const std::string& where, const std::string& reason) {
    add(DatasetIssue::Kind::missing, where, reason);
  }
  void unreadable(const std::string& where, const std::string& reason) {
    add(DatasetIssue::Kind::unreadable, where, reason);
  }
  [[nodiscard]] bool lenient() const { return sink_ != nullptr; }

 private:
  void add(DatasetIssue::Kind kind, const std::string& where, const std::string& reason);
  std::vector<DatasetIssue>* sink_ = nullptr;
};

// One split of a VIGOR dataset (spec.split), without the subset.
Dataset read_vigor(const DatasetSpec& spec, Issues& issues);
// A manifest dataset, without the subset.
Dataset read_manifest(const DatasetSpec& spec, Issues& issues);

}  // namespace georank::data
