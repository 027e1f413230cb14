#pragma once
/// Stage-1 image encoder: a dual (ground / aerial) embedding model in ONNX format run with
/// ONNX Runtime, described by a model card JSON next to the model.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "georank/data/image.hpp"

namespace georank {

/// The two views of cross-view geolocalization.
enum class View {
  ground,  ///< street-level photo or panorama (the query)
  aerial,  ///< aerial / satellite tile (the gallery)
};

/// "ground" or "aerial".
const char* to_string(View view) noexcept;

/// How one view reaches the network.
struct EncoderBranch {
  /// ONNX file. A relative path is resolved against the card's folder; empty means the
  /// model file given by the user (`--model`).
  std::string model;
  /// Graph input and output names; empty means the graph's first input / first output.
  std::string input;
  std::string output;
  /// Network input size in pixels; images are resized to it.
  int height = 384;
  int width = 384;
};

enum class ChannelOrder { rgb, bgr };
enum class DataLayout { nchw, nhwc };

/// Model card: everything needed to feed a model and read its output. Stored as JSON
/// (`<model>.card.json` beside `<model>.onnx`, format "georank-encoder-card/1").
///
/// Layouts: one ONNX file with a ground and an aerial input (both branches name the same
/// file and different inputs), two files (one per branch), or one shared branch (both
/// branches name the same file and the same input, Sample4Geo's shared backbone). The
/// defaults describe a Sample4Geo export: ground 384x768, aerial 384x384, ImageNet mean/std,
/// RGB, NCHW, L2-normalised outputs.
struct ModelCard {
  std::string name;
  std::string description;
  EncoderBranch ground{"", "", "", 384, 768};
  EncoderBranch aerial{"", "", "", 384, 384};
  /// Per-channel normalisation in the network's channel order:
  /// x = (pixel / pixel_scale - mean[c]) / std[c].
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  float pixel_scale = 255.0f;
  ChannelOrder channel_order = ChannelOrder::rgb;
  DataLayout data_layout = DataLayout::nchw;
  ResizeFilter resize = ResizeFilter::bilinear;
  /// True when the network already returns unit-length rows; otherwise the Encoder
  /// normalises them.
  bool l2_normalized = true;
  /// Embedding width; 0 = not stated (read from the network).
  int embedding_dim = 0;
  /// The weights are random (test fixtures, benchmarks): results mean nothing.
  bool random_weights = false;
  /// Folder that relative model paths are resolved against (not stored in the JSON).
  std::string folder;

  [[nodiscard]] const EncoderBranch& branch(View view) const {
    return view == View::ground ? ground : aerial;
  }
  /// Absolute path of a branch's ONNX file (empty when neither the card nor the user names one).
  [[nodiscard]] std::string model_path(View view) const;
};

/// Reads a card; throws Error(not_found) for a missing file and Error(invalid_argument)
/// naming the file and the field for malformed content. Missing fields keep their defaults.
ModelCard load_model_card(const std::string& path);
/// Writes a card as JSON (write-then-rename). Throws Error(io).
void save_model_card(const ModelCard& card, const std::string& path);
/// The card's JSON text (what save_model_card writes).
std::string model_card_json(const ModelCard& card);
/// Where the card of a model is looked for: "dir/encoder.onnx" -> "dir/encoder.card.json".
std::string model_card_path_for(const std::string& model_path);
/// The card for a model: `card_path` when given, else the card beside `model_path` when it
/// exists, else the Sample4Geo defaults. Branches that name no model get `model_path`.
/// Throws Error(invalid_argument) when neither gives a model file for both branches.
ModelCard resolve_model_card(const std::string& model_path, const std::string& card_path = "");

struct EncoderOptions {
  /// ONNX Runtime intra-op threads; 0 = ONNX Runtime's default (one per physical core).
  int n_threads = 0;
  /// Images per inference call.
  int batch_size = 8;
};

/// ONNX Runtime encoder for both views. Images of any size are resized to the branch's
/// input size, normalised as the card says and run in batches; rows come back L2-normalised.
/// Move-only. `embed` may be called from several threads at once.
class Encoder {
 public:
  /// Loads the model file(s) named by `card` (see resolve_model_card). Throws
  /// Error(not_found) for a missing file and Error(backend) naming the file when ONNX
  /// Runtime rejects it or the names/shapes do not fit the card.
  explicit Encoder(ModelCard card, EncoderOptions options = {});
  ~Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  /// Embeddings of `images` seen as `view`: images.size() x dim() float32, row-major, one
  /// unit-length row per image in input order.
  [[nodiscard]] std::vector<float> embed(View view, std::span<const Image> images) const;
  [[nodiscard]] std::vector<float> embed_ground(std::span<const Image> images) const {
    return embed(View::ground, images);
  }
  [[nodiscard]] std::vector<float> embed_aerial(std::span<const Image> images) const {
    return embed(View::aerial, images);
  }

  /// The normalised network input for one image: 3 x height x width floats (or HWC for an
  /// NHWC card), exactly what `embed` feeds the network.
  [[nodiscard]] std::vector<float> preprocess(View view, const Image& image) const;

  /// Embedding width.
  [[nodiscard]] std::size_t dim() const;
  [[nodiscard]] const ModelCard& card() const;
  [[nodiscard]] const EncoderOptions& options() const;
  /// Lower-case hex SHA-256 over the model file(s) and the card's preprocessing fields:
  /// changes whenever an embedding could change. Computed once at load.
  [[nodiscard]] const std::string& fingerprint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace georank
