// VIGOR label lines and satellite lists, read from a scratch VIGOR tree both strictly (load)
// and leniently (check). Input: satellite_list.txt, a "====" line, the label file.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/readers.hpp"
#include "fuzz_input.hpp"
#include "georank/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = georank::fuzz::split_parts(data, size, 2);
  const auto root = georank::fuzz::scratch_dir() / "vigor";
  georank::fuzz::write_file(root / "splits" / "Chicago" / "satellite_list.txt", parts[0]);
  georank::fuzz::write_file(root / "splits" / "Chicago" / "pano_label_balanced.txt", parts[1]);
  std::filesystem::create_directories(root / "Chicago" / "panorama");
  std::filesystem::create_directories(root / "Chicago" / "satellite");
  georank::DatasetSpec spec;
  spec.dataset = "vigor:" + root.string();
  spec.protocol = georank::VigorProtocol::cross_area;
  spec.split = georank::DatasetSplit::test;
  spec.cities = {"Chicago"};
  try {
    georank::data::Issues strict;
    (void)georank::data::read_vigor(spec, strict);
  } catch (const georank::Error&) {
  }
  try {
    std::vector<georank::DatasetIssue> sink;
    georank::data::Issues lenient(&sink);
    (void)georank::data::read_vigor(spec, lenient);
  } catch (const georank::Error&) {
  }
  return 0;
}
