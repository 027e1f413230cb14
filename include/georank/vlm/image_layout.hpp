#pragma once
/// How a request's images reach a judge, decided where the prompt is rendered, so that every
/// backend (in-process or a server) receives the same pixels.

#include <string>

#include "georank/core/config.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

enum class ImageLayout {
  separate,   ///< each image is its own media chunk (multi-image prompt)
  composite,  ///< all images drawn on one canvas as square panels labelled 1..N, for models
              ///< that see one image at a time well (LLaVA-1.5)
};

inline constexpr EnumName<ImageLayout> kImageLayoutNames[] = {{ImageLayout::separate, "separate"},
                                                              {ImageLayout::composite, "composite"}};
inline std::span<const EnumName<ImageLayout>> enum_names(ImageLayout) {
  return kImageLayoutNames;
}
inline const char* to_string(ImageLayout layout) noexcept {
  return enum_name(layout).data();
}

struct ImageLayoutConfig {
  ImageLayout layout = ImageLayout::separate;
  int composite_panel_px = 336;  ///< side of each square panel on the composite canvas

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("layout", c.layout, "Images as separate images or one composite canvas (any judge)");
    v("composite_panel_px", c.composite_panel_px, "Composite: side of each square panel");
  }
};

/// Checks the panel size (16..4096 pixels); throws Error(invalid_argument) naming it.
void validate(const ImageLayoutConfig& config);

/// The request in the given layout. Separate: unchanged. Composite (a request with images):
/// its images on one canvas (composite_canvas), the first media marker followed by "panel 1"
/// and marker k replaced by "panel k", through the messages in order (or the raw prompt).
VlmRequest apply_image_layout(VlmRequest request, const ImageLayoutConfig& config);

}  // namespace georank
