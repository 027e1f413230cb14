#pragma once
// A procedural 2.5-D city (street grid, buildings with heights and roof colours, rooftop
// structures, parks, trees) stored as a height field with colours, and the two views of it
// the synthetic VIGOR-format dataset needs: an orthographic north-up aerial tile and an
// equirectangular street-level panorama rendered by marching the height field.

#include <array>
#include <cstdint>
#include <vector>

#include "georank/image.hpp"

namespace georank::synth {

using Rgb = std::array<std::uint8_t, 3>;

enum class Surface : std::uint8_t { grass, road, marking, sidewalk, building, roof_structure, tree };

struct Scene {
  double min_e = 0;  // metres east of the city origin of cell (0, 0)'s corner
  double min_n = 0;  // metres north
  double cell_m = 0.25;
  int nx = 0;                 // cells east
  int ny = 0;                 // cells north
  std::vector<float> height;  // metres above ground
  std::vector<Rgb> top;       // colour seen from above
  std::vector<Rgb> side;      // colour of a vertical face ending in this cell
  std::vector<Surface> surface;
  std::vector<std::uint8_t> shadow;  // 1: in the sun's shadow (coarse grid, 2x2 cells)

  [[nodiscard]] bool inside(int ix, int iy) const { return ix >= 0 && iy >= 0 && ix < nx && iy < ny; }
  [[nodiscard]] std::size_t at(int ix, int iy) const { return static_cast<std::size_t>(iy) * nx + ix; }
  [[nodiscard]] int cell_x(double e) const;
  [[nodiscard]] int cell_y(double n) const;
  [[nodiscard]] bool shadowed(int ix, int iy) const;
};

// Generates a city covering [min_e, max_e] x [min_n, max_n] metres.
Scene make_scene(double min_e, double min_n, double max_e, double max_n, std::uint64_t seed);

// Top-down view of the square of side `size_m` centred at (e, n), `px` x `px`, north up.
Image render_aerial(const Scene& scene, double e, double n, double size_m, int px);

// Equirectangular panorama (width x width/2) from a camera at (e, n), `camera_h` metres above
// the ground; the centre column faces north, azimuth grows to the right (east at 3/4).
Image render_panorama(const Scene& scene, double e, double n, int width, double camera_h = 2.5);

// Deterministic SplitMix64 random numbers (the same on every platform).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  double uniform(double lo = 0, double hi = 1);  // [lo, hi)
  int integer(int lo, int hi);                   // [lo, hi]

 private:
  std::uint64_t state_;
};

}  // namespace georank::synth
