#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "georank/core/parse_number.hpp"
#include "georank/data/vigor.hpp"

namespace georank::vigor {
namespace {

std::optional<LatLon> checked(std::optional<double> lat, std::optional<double> lon) {
  if (!lat || !lon || std::abs(*lat) > 90 || std::abs(*lon) > 180) return std::nullopt;
  return LatLon{*lat, *lon};
}

}  // namespace

std::optional<double> corrected_m_per_px(std::string_view city) {
  if (city == "NewYork") return 0.113248;
  if (city == "Seattle") return 0.100817;
  if (city == "SanFrancisco") return 0.118141;
  if (city == "Chicago") return 0.111262;
  return std::nullopt;
}

std::optional<LatLon> panorama_gps(std::string_view name) {
  constexpr std::string_view suffix = ",.jpg";
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
  name.remove_suffix(suffix.size());
  const auto c2 = name.rfind(',');
  if (c2 == std::string_view::npos) return std::nullopt;
  const auto c1 = name.rfind(',', c2 == 0 ? 0 : c2 - 1);
  if (c1 == std::string_view::npos || c1 == 0) return std::nullopt;
  return checked(parse_finite_double(name.substr(c1 + 1, c2 - c1 - 1)),
                 parse_finite_double(name.substr(c2 + 1)));
}

std::optional<LatLon> tile_gps(std::string_view name) {
  constexpr std::string_view prefix = "satellite_";
  constexpr std::string_view suffix = ".png";
  if (name.size() <= prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix)
    return std::nullopt;
  name.remove_prefix(prefix.size());
  name.remove_suffix(suffix.size());
  const auto u = name.find('_');
  if (u == std::string_view::npos) return std::nullopt;
  return checked(parse_finite_double(name.substr(0, u)), parse_finite_double(name.substr(u + 1)));
}

std::string panorama_name(std::string_view pano_id, LatLon gps) {
  return fmt::format("{},{:.7f},{:.7f},.jpg", pano_id, gps.lat, gps.lon);
}

std::string tile_name(LatLon center) {
  return fmt::format("satellite_{:.7f}_{:.7f}.png", center.lat, center.lon);
}

Offset offset_from_metres(double east_m, double north_m, double m_per_px) {
  // x = 320 + east/m, y = 320 - north/m  =>  d1 = 320 - x = -east/m, d0 = y - 320 = -north/m.
  return {-north_m / m_per_px, -east_m / m_per_px};
}

EastNorth metres_from_offset(Offset o, double m_per_px) {
  return {-o.d1 * m_per_px, -o.d0 * m_per_px};
}

}  // namespace georank::vigor
