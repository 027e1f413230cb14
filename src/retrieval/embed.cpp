#include "georank/retrieval/embed.hpp"

#include <algorithm>
#include <future>

#include "georank/core/error.hpp"

namespace georank {
namespace {

// Decodes and resizes a batch to the network's input size (so the encoder does not resize
// again); runs on a worker thread while the previous batch is inferred.
std::vector<Image> load_batch(const Encoder& encoder, View view, std::span<const ImageRef> items,
                              std::span<const std::size_t> indices, const ImageLimits& limits) {
  const EncoderBranch& branch = encoder.card().branch(view);
  std::vector<Image> images;
  images.reserve(indices.size());
  for (std::size_t i : indices) {
    Image image = load_image(items[i].path, limits);
    if (image.width != branch.width || image.height != branch.height)
      image = resize(image, branch.width, branch.height, encoder.card().resize);
    images.push_back(std::move(image));
  }
  return images;
}

}  // namespace

EmbedFilesResult embed_files(const Encoder& encoder, View view, std::span<const ImageRef> items,
                             const EmbedFilesOptions& options) {
  const std::size_t dim = encoder.dim();
  EmbedFilesResult result;
  result.matrix.rows = items.size();
  result.matrix.cols = dim;
  result.matrix.values.assign(items.size() * dim, 0.0f);
  result.ids.reserve(items.size());
  for (const auto& item : items) result.ids.push_back(item.id);

  std::vector<ImageFileKey> keys;
  keys.reserve(items.size());
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < items.size(); ++i) {
    keys.push_back(image_file_key(items[i].path));
    if (options.cache != nullptr) {
      if (auto row = options.cache->find(view, keys.back()); row && row->size() == dim) {
        std::copy(row->begin(), row->end(),
                  result.matrix.values.begin() + static_cast<std::ptrdiff_t>(i * dim));
        ++result.n_cached;
        continue;
      }
    }
    pending.push_back(i);
  }

  EmbedProgress progress{0, pending.size(), result.n_cached};
  if (options.on_progress) options.on_progress(progress);
  const auto batch = static_cast<std::size_t>(std::max(1, encoder.options().batch_size));
  auto batch_indices = [&](std::size_t start) {
    return std::span<const std::size_t>(pending).subspan(start, std::min(batch, pending.size() - start));
  };
  std::future<std::vector<Image>> next;
  if (!pending.empty())
    next = std::async(std::launch::async, load_batch, std::cref(encoder), view, items, batch_indices(0),
                      std::cref(options.limits));
  for (std::size_t start = 0; start < pending.size(); start += batch) {
    const auto indices = batch_indices(start);
    std::vector<Image> images = next.get();
    if (options.stop != nullptr && options.stop->load()) {
      result.complete = false;
      break;
    }
    if (start + batch < pending.size())
      next = std::async(std::launch::async, load_batch, std::cref(encoder), view, items,
                        batch_indices(start + batch), std::cref(options.limits));
    const std::vector<float> rows = encoder.embed(view, images);
    std::vector<ImageFileKey> batch_keys;
    for (std::size_t k = 0; k < indices.size(); ++k) {
      std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>(k * dim), dim,
                  result.matrix.values.begin() + static_cast<std::ptrdiff_t>(indices[k] * dim));
      batch_keys.push_back(keys[indices[k]]);
    }
    if (options.cache != nullptr) options.cache->put(view, batch_keys, rows, dim);
    result.n_encoded += indices.size();
    progress.n_done = result.n_encoded;
    if (options.on_progress) options.on_progress(progress);
  }
  if (!result.complete) {
    // Let a prefetch still running finish before the caller's data goes away.
    if (next.valid()) next.wait();
    result.matrix = {};
    result.ids.clear();
  }
  return result;
}

}  // namespace georank
