#pragma once
// One canvas holding several images as labelled square panels, for models that see one image
// at a time well (LLaVA-1.5).

#include <span>
#include <string>

#include "georank/data/image.hpp"

namespace georank::vlm {

/// Lays the images out on a near-square grid of `panel_px` square cells (each image scaled to
/// fit, centred on grey) and draws the panel number (1..N) in a white box at each cell's top
/// left corner with a built-in bitmap font. The result has its id set.
Image composite_canvas(std::span<const Image* const> images, int panel_px);

/// Replaces the k-th media marker of `prompt` by "panel k", keeping one marker (the canvas)
/// in front of the first one. `panel` counts the markers seen so far, so that a prompt in
/// several pieces (chat messages) numbers its panels through all of them.
std::string composite_prompt(const std::string& prompt, const std::string& marker, int& panel);

}  // namespace georank::vlm
