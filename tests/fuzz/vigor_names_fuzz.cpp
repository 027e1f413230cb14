// VIGOR file names: the GPS encoded in panorama and tile names, and their round trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "georank/data/vigor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  if (const auto gps = georank::vigor::panorama_gps(name)) (void)georank::vigor::panorama_name("fuzz", *gps);
  if (const auto gps = georank::vigor::tile_gps(name)) (void)georank::vigor::tile_name(*gps);
  (void)georank::vigor::corrected_m_per_px(name);
  return 0;
}
