#pragma once
/// Facts of the VIGOR dataset shared by the reader, the checker and the synthetic generator.

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "georank/data/geo.hpp"

namespace georank::vigor {

/// The four cities in VIGOR's own order.
inline constexpr std::array<std::string_view, 4> kCities = {"NewYork", "Seattle", "SanFrancisco", "Chicago"};
/// Cross-area protocol: train cities and test cities.
inline constexpr std::array<std::string_view, 2> kCrossAreaTrain = {"NewYork", "Seattle"};
inline constexpr std::array<std::string_view, 2> kCrossAreaTest = {"SanFrancisco", "Chicago"};

/// Side of an aerial tile in pixels; label offsets are in this frame.
inline constexpr double kTilePx = 640.0;
/// The ground resolution the original VIGOR code assumed for every city, metres per pixel.
inline constexpr double kOriginalMPerPx = 0.114;

/// Corrected per-city ground resolution in metres per pixel of a 640-px tile (Web-Mercator
/// zoom 20 at the city's latitude); `std::nullopt` for a city that is not part of VIGOR.
std::optional<double> corrected_m_per_px(std::string_view city);

/// GPS from a panorama file name "<panoid>,<lat>,<lon>,.jpg"; nullopt when malformed.
std::optional<LatLon> panorama_gps(std::string_view file_name);
/// GPS of the centre from a tile file name "satellite_<lat>_<lon>.png"; nullopt when malformed.
std::optional<LatLon> tile_gps(std::string_view file_name);

/// File names in VIGOR's format (coordinates printed with 7 decimals, as VIGOR does).
std::string panorama_name(std::string_view pano_id, LatLon gps);
std::string tile_name(LatLon center);

/// Pixel offsets of a camera inside a tile: camera at x = 320 - d1, y = 320 + d0 (x east,
/// y south, pixels of the 640-px frame).
struct Offset {
  double d0 = 0;
  double d1 = 0;
};
/// Offset of a camera `east_m`/`north_m` metres from the tile centre at `m_per_px`.
Offset offset_from_metres(double east_m, double north_m, double m_per_px);
/// Inverse: (east, north) metres of the camera relative to the tile centre.
EastNorth metres_from_offset(Offset offset, double m_per_px);

}  // namespace georank::vigor
