#include "vlm/composite.hpp"

#include <gtest/gtest.h>

namespace georank::vlm {
namespace {

Image flat(int w, int h, std::uint8_t v) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(static_cast<std::size_t>(w) * h * 3, v);
  img.finalize();
  return img;
}

TEST(Composite, PlacesThreeImagesOnATwoByTwoGridWithNumberedPanels) {
  const Image a = flat(200, 100, 10), b = flat(50, 50, 60), c = flat(64, 64, 90);
  const Image* images[] = {&a, &b, &c};
  const Image canvas = composite_canvas(images, 64);
  EXPECT_EQ(canvas.width, 128);
  EXPECT_EQ(canvas.height, 128);
  EXPECT_FALSE(canvas.id.empty());
  auto px = [&](int x, int y) { return canvas.rgb[(static_cast<std::size_t>(y) * canvas.width + x) * 3]; };
  EXPECT_EQ(px(32, 32), 10);     // panel 1 centre: image a (letterboxed 64x32)
  EXPECT_EQ(px(32, 5), 128);     // panel 1 letterbox border
  EXPECT_EQ(px(96, 40), 60);     // panel 2: image b
  EXPECT_EQ(px(40, 100), 90);    // panel 3: image c
  EXPECT_EQ(px(100, 100), 128);  // empty fourth cell
  EXPECT_EQ(px(1, 1), 255);      // label box, top-left corner of panel 1
}

TEST(Composite, PromptKeepsOneMarkerAndNamesThePanels) {
  int panel = 0;
  EXPECT_EQ(composite_prompt("Q: <m>\nA: <m>\nB: <m>\nAnswer:", "<m>", panel),
            "Q: <m>panel 1\nA: panel 2\nB: panel 3\nAnswer:");
  EXPECT_EQ(panel, 3);
  EXPECT_EQ(composite_prompt("then <m>", "<m>", panel), "then panel 4");  // a later message
}

}  // namespace
}  // namespace georank::vlm
