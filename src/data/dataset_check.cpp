#include "georank/data/dataset_check.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_set>

#include "data/readers.hpp"
#include "georank/core/error.hpp"
#include "georank/data/image.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

void check_file(const std::string& path, const DatasetCheckOptions& options,
                std::vector<DatasetIssue>& issues) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    issues.push_back({DatasetIssue::Kind::missing, path, "file missing"});
    return;
  }
  if (!fs::is_regular_file(path, ec)) {
    issues.push_back({DatasetIssue::Kind::unreadable, path, "not a regular file"});
    return;
  }
  if (fs::file_size(path, ec) == 0) {
    issues.push_back({DatasetIssue::Kind::unreadable, path, "empty file"});
    return;
  }
  std::ifstream in(path, std::ios::binary);
  char byte = 0;
  if (!in || !in.read(&byte, 1)) {
    issues.push_back({DatasetIssue::Kind::unreadable, path, "cannot be read"});
    return;
  }
  if (options.decode_images) {
    try {
      (void)load_image(path);
    } catch (const Error& e) {
      issues.push_back({DatasetIssue::Kind::unreadable, path, e.what()});
    }
  }
}

}  // namespace

DatasetCheckReport check_dataset(const DatasetSpec& spec, const DatasetCheckOptions& options) {
  DatasetCheckReport report;
  std::vector<DatasetSplit> splits = {spec.split};
  if (spec.kind() == "vigor" && options.all_splits) splits = {DatasetSplit::train, DatasetSplit::test};
  if (spec.kind() != "vigor" && spec.kind() != "manifest")
    throw Error(ErrorKind::invalid_argument, "unknown dataset kind '" + spec.kind() + "' (vigor | manifest)");

  std::unordered_set<std::string> checked;
  for (const auto& split : splits) {
    DatasetSpec s = spec;
    s.split = split;
    s.subset = 0;
    data::Issues sink(&report.issues);
    Dataset ds;
    try {
      ds = spec.kind() == "vigor" ? data::read_vigor(s, sink) : data::read_manifest(s, sink);
    } catch (const Error& e) {
      // A split with no usable city at all is one issue of the report, not the end of it.
      if (e.kind() != ErrorKind::not_found || spec.kind() != "vigor" || splits.size() == 1) throw;
      report.issues.push_back({DatasetIssue::Kind::missing, spec.root(), e.what()});
      continue;
    }
    std::map<std::string, DatasetCheckReport::Count> per_city;
    for (const auto& q : ds.queries) {
      auto& c = per_city[q.city];
      ++c.n_queries;
    }
    for (const auto& t : ds.gallery) ++per_city[t.city].n_tiles;
    for (auto& [city, c] : per_city) {
      c.city = city;
      c.split = spec.kind() == "vigor" ? std::string(enum_name(split)) : "";
      report.counts.push_back(c);
    }
    for (const auto& q : ds.queries)
      if (checked.insert(q.path).second) check_file(q.path, options, report.issues);
    for (const auto& t : ds.gallery)
      if (checked.insert(t.path).second) check_file(t.path, options, report.issues);
  }
  report.n_files_checked = checked.size();
  return report;
}

}  // namespace georank
