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

/// Great-circle (haversine) distance in metres on the sphere of radius `kEarthRadiusM`.
double haversine_m(LatLon a, LatLon b);

/// The point `east_m` metres east and `north_m` metres north of `origin` (local
/// equirectangular approximation on the same sphere; accurate to well below a millimetre
/// per metre for offsets of a few kilometres).
LatLon offset_m(LatLon origin, double east_m, double north_m);

/// Inverse of `offset_m`: (east, north) metres of `p` relative to `origin`.
struct EastNorth {
  double east_m = 0;
  double north_m = 0;
};
EastNorth east_north_m(LatLon origin, LatLon p);

}  // namespace georank
