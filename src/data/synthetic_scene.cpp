#include "data/synthetic_scene.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace georank::synth {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kSunElevationTan = 1.0;  // 45 degrees
constexpr double kSunDirE = -0.6,
                 kSunDirN = -0.8;  // towards the sun (south-south-west); shadows fall opposite

std::uint8_t clamp8(double v) {
  return static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
}

Rgb scale(Rgb c, double f) {
  return {clamp8(c[0] * f), clamp8(c[1] * f), clamp8(c[2] * f)};
}

Rgb mix(Rgb a, Rgb b, double t) {
  return {clamp8(a[0] + (b[0] - a[0]) * t), clamp8(a[1] + (b[1] - a[1]) * t),
          clamp8(a[2] + (b[2] - a[2]) * t)};
}

// Per-cell texture noise in [-1, 1], a pure function of the cell so both views agree.
double cell_noise(int ix, int iy, std::uint32_t salt) {
  std::uint32_t h =
      static_cast<std::uint32_t>(ix) * 374761393u + static_cast<std::uint32_t>(iy) * 668265263u + salt;
  h = (h ^ (h >> 13)) * 1274126177u;
  h ^= h >> 16;
  return static_cast<double>(h & 0xffff) / 32767.5 - 1.0;
}

Rgb jitter(Rgb c, int ix, int iy, double amount) {
  const double n = cell_noise(ix, iy, 17u) * amount;
  return {clamp8(c[0] + n), clamp8(c[1] + n), clamp8(c[2] + n)};
}

struct Painter {
  Scene& s;
  void rect(double e0, double n0, double e1, double n1, Surface surf, Rgb top, Rgb side, float h,
            double noise) {
    const int x0 = std::max(0, s.cell_x(e0)), x1 = std::min(s.nx - 1, s.cell_x(e1));
    const int y0 = std::max(0, s.cell_y(n0)), y1 = std::min(s.ny - 1, s.cell_y(n1));
    for (int iy = y0; iy <= y1; ++iy)
      for (int ix = x0; ix <= x1; ++ix) {
        const auto i = s.at(ix, iy);
        s.surface[i] = surf;
        s.height[i] = h;
        s.top[i] = jitter(top, ix, iy, noise);
        s.side[i] = side;
      }
  }
  void tree(double ce, double cn, double radius, double h, Rgb leaf) {
    const int x0 = std::max(0, s.cell_x(ce - radius)), x1 = std::min(s.nx - 1, s.cell_x(ce + radius));
    const int y0 = std::max(0, s.cell_y(cn - radius)), y1 = std::min(s.ny - 1, s.cell_y(cn + radius));
    for (int iy = y0; iy <= y1; ++iy)
      for (int ix = x0; ix <= x1; ++ix) {
        const double de = s.min_e + (ix + 0.5) * s.cell_m - ce, dn = s.min_n + (iy + 0.5) * s.cell_m - cn;
        const double r2 = (de * de + dn * dn) / (radius * radius);
        if (r2 > 1) continue;
        const auto i = s.at(ix, iy);
        const auto dome = static_cast<float>(h * (0.65 + 0.35 * std::sqrt(1 - r2)));
        if (s.height[i] >= dome && s.surface[i] != Surface::tree) continue;  // under a taller roof
        s.surface[i] = Surface::tree;
        s.height[i] = std::max(s.height[i], dome);
        // Sunlit side of the dome (towards the sun) is brighter.
        const double light = 0.85 + 0.25 * (de * kSunDirE + dn * kSunDirN) / radius;
        s.top[i] = jitter(scale(leaf, light), ix, iy, 14);
        s.side[i] = scale(leaf, 0.8);
      }
  }
};

const Rgb kGrass{86, 128, 62}, kRoad{72, 72, 76}, kSidewalk{168, 164, 156}, kMarking{236, 232, 220};
const Rgb kRoofPalette[] = {{178, 74, 58},   {96, 100, 112},  {200, 190, 170}, {60, 64, 70},
                            {150, 120, 90},  {210, 210, 205}, {120, 80, 64},   {70, 96, 130},
                            {190, 160, 110}, {140, 150, 150}};
const Rgb kFacadePalette[] = {{190, 170, 150}, {150, 110, 90},  {200, 200, 195}, {120, 125, 135},
                              {170, 150, 120}, {215, 205, 185}, {110, 90, 80},   {160, 175, 185}};

}  // namespace

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}

int Rng::integer(int lo, int hi) {
  return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
}

int Scene::cell_x(double e) const {
  return static_cast<int>(std::floor((e - min_e) / cell_m));
}
int Scene::cell_y(double n) const {
  return static_cast<int>(std::floor((n - min_n) / cell_m));
}
bool Scene::shadowed(int ix, int iy) const {
  const int cx = (nx + 1) / 2;
  return shadow[static_cast<std::size_t>(iy / 2) * cx + ix / 2] != 0;
}

Scene make_scene(double min_e, double min_n, double max_e, double max_n, std::uint64_t seed) {
  Scene s;
  s.min_e = min_e;
  s.min_n = min_n;
  s.nx = static_cast<int>(std::ceil((max_e - min_e) / s.cell_m));
  s.ny = static_cast<int>(std::ceil((max_n - min_n) / s.cell_m));
  const auto n = static_cast<std::size_t>(s.nx) * s.ny;
  s.height.assign(n, 0.0f);
  s.top.assign(n, kGrass);
  s.side.assign(n, kGrass);
  s.surface.assign(n, Surface::grass);
  for (int iy = 0; iy < s.ny; ++iy)
    for (int ix = 0; ix < s.nx; ++ix) s.top[s.at(ix, iy)] = jitter(kGrass, ix, iy, 12);
  Rng rng(seed);
  Painter p{s};

  // Street grid: road centre lines at irregular spacing in both directions.
  auto lines = [&](double lo, double hi) {
    std::vector<std::pair<double, double>> out;  // centre, width
    for (double c = lo + rng.uniform(0, 20); c < hi + 40; c += rng.uniform(48, 82))
      out.push_back({c, rng.uniform(9, 14)});
    return out;
  };
  const auto ew = lines(min_n, max_n);  // roads running east-west (constant n)
  const auto ns = lines(min_e, max_e);  // roads running north-south (constant e)

  // Blocks between consecutive roads, split into lots.
  for (std::size_t bi = 0; bi + 1 < ns.size(); ++bi)
    for (std::size_t bj = 0; bj + 1 < ew.size(); ++bj) {
      const double e0 = ns[bi].first + ns[bi].second / 2 + 3,
                   e1 = ns[bi + 1].first - ns[bi + 1].second / 2 - 3;
      const double n0 = ew[bj].first + ew[bj].second / 2 + 3,
                   n1 = ew[bj + 1].first - ew[bj + 1].second / 2 - 3;
      if (e1 - e0 < 6 || n1 - n0 < 6) continue;
      const int lots_e = std::max(1, static_cast<int>((e1 - e0) / rng.uniform(14, 30)));
      const int lots_n = std::max(1, static_cast<int>((n1 - n0) / rng.uniform(18, 40)));
      for (int li = 0; li < lots_e; ++li)
        for (int lj = 0; lj < lots_n; ++lj) {
          const double le0 = e0 + (e1 - e0) * li / lots_e, le1 = e0 + (e1 - e0) * (li + 1) / lots_e;
          const double ln0 = n0 + (n1 - n0) * lj / lots_n, ln1 = n0 + (n1 - n0) * (lj + 1) / lots_n;
          if (rng.uniform() < 0.78) {
            const double sb = rng.uniform(0.5, 2.5);
            const double h = rng.uniform() < 0.25 ? rng.uniform(25, 55) : rng.uniform(5, 22);
            const Rgb roof = kRoofPalette[rng.integer(0, 9)];
            const Rgb facade = kFacadePalette[rng.integer(0, 7)];
            p.rect(le0 + sb, ln0 + sb, le1 - sb, ln1 - sb, Surface::building, roof, facade,
                   static_cast<float>(h), 6);
            if (rng.uniform() < 0.4) {  // rooftop structure
              const double w = (le1 - le0 - 2 * sb) * rng.uniform(0.2, 0.4),
                           d = (ln1 - ln0 - 2 * sb) * rng.uniform(0.2, 0.4);
              const double ce = rng.uniform(le0 + sb + w, le1 - sb - w),
                           cn = rng.uniform(ln0 + sb + d, ln1 - sb - d);
              p.rect(ce - w / 2, cn - d / 2, ce + w / 2, cn + d / 2, Surface::roof_structure,
                     scale(roof, 0.7), scale(facade, 0.8), static_cast<float>(h + rng.uniform(2, 4)), 4);
            }
          } else {
            const int n_trees = rng.integer(2, 7);
            for (int t = 0; t < n_trees; ++t)
              p.tree(rng.uniform(le0 + 2, le1 - 2), rng.uniform(ln0 + 2, ln1 - 2), rng.uniform(2, 4.5),
                     rng.uniform(6, 12),
                     Rgb{static_cast<std::uint8_t>(rng.integer(40, 70)),
                         static_cast<std::uint8_t>(rng.integer(90, 125)),
                         static_cast<std::uint8_t>(rng.integer(35, 55))});
          }
        }
    }

  // Roads with sidewalks and dashed centre markings, painted over the blocks' edges.
  const double big = 1e6;
  auto road = [&](bool along_e, double c, double w) {
    if (along_e) {
      p.rect(-big, c - w / 2 - 3, big, c + w / 2 + 3, Surface::sidewalk, kSidewalk, kSidewalk, 0, 6);
      p.rect(-big, c - w / 2, big, c + w / 2, Surface::road, kRoad, kRoad, 0, 5);
    } else {
      p.rect(c - w / 2 - 3, -big, c + w / 2 + 3, big, Surface::sidewalk, kSidewalk, kSidewalk, 0, 6);
      p.rect(c - w / 2, -big, c + w / 2, big, Surface::road, kRoad, kRoad, 0, 5);
    }
  };
  for (auto [c, w] : ew) road(true, c, w);
  for (auto [c, w] : ns) road(false, c, w);
  for (auto [c, w] : ew)
    for (double e = min_e; e < max_e; e += 6) {
      bool crossing = false;
      for (auto [c2, w2] : ns) crossing = crossing || std::abs(e + 1.5 - c2) < w2 / 2 + 3;
      if (!crossing) p.rect(e, c - 0.15, e + 3, c + 0.15, Surface::marking, kMarking, kMarking, 0, 4);
    }
  for (auto [c, w] : ns)
    for (double nn = min_n; nn < max_n; nn += 6) {
      bool crossing = false;
      for (auto [c2, w2] : ew) crossing = crossing || std::abs(nn + 1.5 - c2) < w2 / 2 + 3;
      if (!crossing) p.rect(c - 0.15, nn, c + 0.15, nn + 3, Surface::marking, kMarking, kMarking, 0, 4);
    }
  // Street trees on the sidewalks.
  for (auto [c, w] : ew)
    for (double e = min_e + rng.uniform(0, 10); e < max_e; e += rng.uniform(9, 20))
      if (rng.uniform() < 0.45)
        p.tree(e, c + (rng.uniform() < 0.5 ? -1 : 1) * (w / 2 + 1.5), rng.uniform(1.8, 3), rng.uniform(6, 9),
               {58, 110, 48});
  for (auto [c, w] : ns)
    for (double nn = min_n + rng.uniform(0, 10); nn < max_n; nn += rng.uniform(9, 20))
      if (rng.uniform() < 0.45)
        p.tree(c + (rng.uniform() < 0.5 ? -1 : 1) * (w / 2 + 1.5), nn, rng.uniform(1.8, 3), rng.uniform(6, 9),
               {58, 110, 48});

  // Sun shadows on a 2x2-cell grid: march towards the sun until a taller cell blocks it.
  const int cx = (s.nx + 1) / 2, cy = (s.ny + 1) / 2;
  s.shadow.assign(static_cast<std::size_t>(cx) * cy, 0);
  float max_h = 0;
  for (float h : s.height) max_h = std::max(max_h, h);
  const double step = 2 * s.cell_m;
  for (int gy = 0; gy < cy; ++gy)
    for (int gx = 0; gx < cx; ++gx) {
      const int ix = std::min(2 * gx, s.nx - 1), iy = std::min(2 * gy, s.ny - 1);
      const double h0 = s.height[s.at(ix, iy)];
      const double e0 = s.min_e + (ix + 0.5) * s.cell_m, n0 = s.min_n + (iy + 0.5) * s.cell_m;
      for (double d = step; h0 + d * kSunElevationTan < max_h; d += step) {
        const int jx = s.cell_x(e0 + d * kSunDirE), jy = s.cell_y(n0 + d * kSunDirN);
        if (!s.inside(jx, jy)) break;
        if (s.height[s.at(jx, jy)] > h0 + d * kSunElevationTan) {
          s.shadow[static_cast<std::size_t>(gy) * cx + gx] = 1;
          break;
        }
      }
    }
  return s;
}

namespace {

Rgb lit_top(const Scene& s, int ix, int iy) {
  const auto i = s.at(ix, iy);
  return s.shadowed(ix, iy) ? scale(s.top[i], 0.58) : s.top[i];
}

Rgb sky(double elevation) {
  return mix(Rgb{200, 214, 230}, Rgb{96, 140, 200}, std::clamp(elevation / (kPi / 2), 0.0, 1.0));
}

}  // namespace

Image render_aerial(const Scene& s, double e, double n, double size_m, int px) {
  Image img;
  img.width = img.height = px;
  img.rgb.resize(static_cast<std::size_t>(px) * px * 3);
  const double mpp = size_m / px;
  for (int v = 0; v < px; ++v)
    for (int u = 0; u < px; ++u) {
      double acc[3] = {0, 0, 0};
      for (int sy = 0; sy < 2; ++sy)
        for (int sx = 0; sx < 2; ++sx) {
          const double pe = e + (u + 0.25 + 0.5 * sx - px / 2.0) * mpp;
          const double pn = n - (v + 0.25 + 0.5 * sy - px / 2.0) * mpp;
          const int ix = s.cell_x(pe), iy = s.cell_y(pn);
          const Rgb c = s.inside(ix, iy) ? lit_top(s, ix, iy) : Rgb{86, 128, 62};
          for (int k = 0; k < 3; ++k) acc[k] += c[k];
        }
      for (int k = 0; k < 3; ++k)
        img.rgb[(static_cast<std::size_t>(v) * px + u) * 3 + k] = clamp8(acc[k] / 4 + 0.5);
    }
  img.finalize();
  return img;
}

Image render_panorama(const Scene& s, double e, double n, int width, double camera_h) {
  const int height = width / 2;
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<std::size_t>(width) * height * 3);
  auto put = [&](int col, int row, Rgb c) {
    auto* p = &img.rgb[(static_cast<std::size_t>(row) * width + col) * 3];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
  };
  auto row_elevation = [&](int row) { return kPi / 2 - (row + 0.5) * kPi / height; };
  const int cam_x = s.cell_x(e), cam_y = s.cell_y(n);
  const Rgb under = s.inside(cam_x, cam_y) ? lit_top(s, cam_x, cam_y) : Rgb{86, 128, 62};
  const double max_d = 220, step = 0.2;
  for (int col = 0; col < width; ++col) {
    const double az = (col + 0.5) / width * 2 * kPi - kPi;  // 0 = north at the centre column
    const double de = std::sin(az), dn = std::cos(az);
    int lowest_unfilled = height;  // rows [lowest_unfilled, height) are painted
    int prev_ix = cam_x, prev_iy = cam_y;
    float prev_h = s.inside(cam_x, cam_y) ? s.height[s.at(cam_x, cam_y)] : 0.0f;
    for (double d = step; d < max_d && lowest_unfilled > 0; d += step) {
      const int ix = s.cell_x(e + d * de), iy = s.cell_y(n + d * dn);
      if (ix == prev_ix && iy == prev_iy) continue;
      const bool in = s.inside(ix, iy);
      const float h = in ? s.height[s.at(ix, iy)] : 0.0f;
      // Rows whose ray reaches height <= h at distance d are hit here.
      const double top_angle = std::atan2(h - camera_h, d);
      int row = static_cast<int>(std::ceil((kPi / 2 - top_angle) / kPi * height - 0.5));
      row = std::clamp(row, 0, height);
      if (row < lowest_unfilled) {
        const double haze = 1 - std::exp(-d / 300);
        const Rgb top = in ? lit_top(s, ix, iy) : Rgb{86, 128, 62};
        Rgb face = in ? s.side[s.at(ix, iy)] : top;
        // Shade a vertical face by its orientation (the axis the ray crossed).
        const bool crossed_x = ix != prev_ix;
        const double facing = crossed_x ? (de > 0 ? 0.78 : 0.95) : (dn > 0 ? 1.0 : 0.66);
        for (int r = row; r < lowest_unfilled; ++r) {
          const double z_prev = camera_h + (d - step) * std::tan(row_elevation(r));
          Rgb c = top;
          if (h > prev_h + 0.01f && z_prev < h) {
            c = scale(face, facing);
            const auto surf = s.surface[s.at(ix, iy)];
            if (surf == Surface::building || surf == Surface::roof_structure) {
              const double z = camera_h + d * std::tan(row_elevation(r));
              const double along = crossed_x ? n + d * dn : e + d * de;
              const bool window = std::fmod(z, 3.4) > 1.2 && std::fmod(z, 3.4) < 2.6 &&
                                  std::fmod(std::abs(along), 3.0) > 0.9 && z > 1.0;
              if (window) c = scale(c, 0.55);
            }
          }
          put(col, r, mix(c, sky(0.0), haze));
        }
        lowest_unfilled = row;
      }
      prev_ix = ix;
      prev_iy = iy;
      prev_h = h;
    }
    for (int r = 0; r < lowest_unfilled; ++r) {
      const double el = row_elevation(r);
      put(col, r, el > 0 ? sky(el) : mix(under, sky(0.0), 0.6));
    }
    // Rows straight below the camera that no step reached: the ground it stands on.
    for (int r = height - 1; r >= 0; --r) {
      if (row_elevation(r) > -std::atan2(camera_h, step)) break;
      put(col, r, under);
    }
  }
  img.finalize();
  return img;
}

}  // namespace georank::synth
