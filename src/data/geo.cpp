#include "georank/data/geo.hpp"

#include <cmath>
#include <numbers>

namespace georank {
namespace {
constexpr double kDeg = std::numbers::pi / 180.0;
}

double haversine_m(LatLon a, LatLon b) {
  const double dlat = (b.lat - a.lat) * kDeg;
  const double dlon = (b.lon - a.lon) * kDeg;
  const double s = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.lat * kDeg) * std::cos(b.lat * kDeg) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(s)));
}

LatLon offset_m(LatLon origin, double east_m, double north_m) {
  return {origin.lat + north_m / kEarthRadiusM / kDeg,
          origin.lon + east_m / (kEarthRadiusM * std::cos(origin.lat * kDeg)) / kDeg};
}

EastNorth east_north_m(LatLon origin, LatLon p) {
  return {(p.lon - origin.lon) * kDeg * kEarthRadiusM * std::cos(origin.lat * kDeg),
          (p.lat - origin.lat) * kDeg * kEarthRadiusM};
}

}  // namespace georank
