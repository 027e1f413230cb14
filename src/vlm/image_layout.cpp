#include "georank/vlm/image_layout.hpp"

#include <memory>
#include <vector>

#include "georank/core/error.hpp"
#include "vlm/composite.hpp"

namespace georank {

void validate(const ImageLayoutConfig& config) {
  if (config.composite_panel_px < 16 || config.composite_panel_px > 4096)
    throw Error(ErrorKind::invalid_argument,
                "composite_panel_px must be in 16..4096, got " + std::to_string(config.composite_panel_px));
}

VlmRequest apply_image_layout(VlmRequest request, const ImageLayoutConfig& config) {
  if (config.layout == ImageLayout::separate || request.images.empty()) return request;
  validate(config);
  std::vector<const Image*> images;
  for (const auto& img : request.images) {
    if (!img) throw Error(ErrorKind::invalid_argument, "a request image is missing");
    images.push_back(img.get());
  }
  auto canvas = std::make_shared<Image>(vlm::composite_canvas(images, config.composite_panel_px));
  int panel = 0;
  if (request.raw_prompt) {
    *request.raw_prompt = vlm::composite_prompt(*request.raw_prompt, kMediaMarker, panel);
  } else {
    for (auto& m : request.messages) m.content = vlm::composite_prompt(m.content, kMediaMarker, panel);
  }
  request.images = {std::move(canvas)};
  return request;
}

}  // namespace georank
