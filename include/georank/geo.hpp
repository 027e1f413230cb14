#pragma once
/// Geographic helpers.

#include <optional>

namespace georank {

struct LatLon {
  double lat = 0;  ///< degrees, WGS84
  double lon = 0;  ///< degrees
};

/// Sphere radius used by VIGOR's evaluation code, metres.
inline constexpr double kEarthRadiusM = 6371004.0;

/// Great-circle (haversine) distance in metres.
double haversine_m(LatLon a, LatLon b);

}  // namespace georank
