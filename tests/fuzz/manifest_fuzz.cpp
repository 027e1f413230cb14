// Manifest datasets (gallery.csv, queries.csv, labels.csv), strictly and leniently.
// Input: the three files separated by "====" lines.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/readers.hpp"
#include "fuzz_input.hpp"
#include "georank/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = georank::fuzz::split_parts(data, size, 3);
  const auto dir = georank::fuzz::scratch_dir() / "manifest";
  georank::fuzz::write_file(dir / "gallery.csv", parts[0]);
  georank::fuzz::write_file(dir / "queries.csv", parts[1]);
  georank::fuzz::write_file(dir / "labels.csv", parts[2]);
  georank::DatasetSpec spec;
  spec.dataset = "manifest:" + dir.string();
  try {
    georank::data::Issues strict;
    (void)georank::data::read_manifest(spec, strict);
  } catch (const georank::Error&) {
  }
  try {
    std::vector<georank::DatasetIssue> sink;
    georank::data::Issues lenient(&sink);
    (void)georank::data::read_manifest(spec, lenient);
  } catch (const georank::Error&) {
  }
  return 0;
}
