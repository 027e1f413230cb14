#include "vlm/composite.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "georank/core/error.hpp"

namespace georank::vlm {
namespace {

// 5x7 digit glyphs, one byte per row, bit 4 = leftmost column.
constexpr std::uint8_t kDigits[10][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

void fill(Image& img, int x0, int y0, int w, int h, std::uint8_t v) {
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(static_cast<std::size_t>(y) * img.width + x) * 3 + c] = v;
}

void draw_label(Image& img, int x0, int y0, int number, int scale) {
  const std::string text = std::to_string(number);
  const int w = static_cast<int>(text.size()) * 6 * scale + 3 * scale, h = 9 * scale;
  fill(img, x0, y0, w, h, 255);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto& glyph = kDigits[text[i] - '0'];
    for (int row = 0; row < 7; ++row)
      for (int col = 0; col < 5; ++col)
        if (glyph[row] & (0x10 >> col))
          fill(img, x0 + 2 * scale + (static_cast<int>(i) * 6 + col) * scale, y0 + (row + 1) * scale, scale,
               scale, 0);
  }
}

}  // namespace

Image composite_canvas(std::span<const Image* const> images, int panel_px) {
  if (images.empty()) throw Error(ErrorKind::invalid_argument, "composite layout needs at least one image");
  if (panel_px < 16) throw Error(ErrorKind::invalid_argument, "composite panel size must be at least 16 px");
  const int n = static_cast<int>(images.size());
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int rows = (n + cols - 1) / cols;
  Image canvas;
  canvas.width = cols * panel_px;
  canvas.height = rows * panel_px;
  canvas.rgb.assign(static_cast<std::size_t>(canvas.width) * canvas.height * 3, 128);
  const int scale = std::max(1, panel_px / 64);
  for (int k = 0; k < n; ++k) {
    const Image& src = *images[static_cast<std::size_t>(k)];
    const double f =
        std::min(static_cast<double>(panel_px) / src.width, static_cast<double>(panel_px) / src.height);
    const int w = std::max(1, static_cast<int>(std::lround(src.width * f)));
    const int h = std::max(1, static_cast<int>(std::lround(src.height * f)));
    const Image scaled = resize(src, w, h, ResizeFilter::area);
    const int ox = (k % cols) * panel_px + (panel_px - w) / 2,
              oy = (k / cols) * panel_px + (panel_px - h) / 2;
    for (int y = 0; y < h; ++y)
      std::copy_n(&scaled.rgb[static_cast<std::size_t>(y) * w * 3], static_cast<std::size_t>(w) * 3,
                  &canvas.rgb[(static_cast<std::size_t>(oy + y) * canvas.width + ox) * 3]);
    draw_label(canvas, (k % cols) * panel_px + scale, (k / cols) * panel_px + scale, k + 1, scale);
  }
  canvas.finalize();
  return canvas;
}

std::string composite_prompt(const std::string& prompt, const std::string& marker, int& panel) {
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = prompt.find(marker, pos)) != std::string::npos; pos = hit + marker.size()) {
    out += prompt.substr(pos, hit - pos);
    if (++panel == 1) out += marker;
    out += "panel " + std::to_string(panel);
  }
  return out + prompt.substr(pos);
}

}  // namespace georank::vlm
