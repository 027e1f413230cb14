#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "georank/retrieval/encoder.hpp"
#include "retrieval/stderr_filter.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// The one place where ONNX Runtime's exceptions become georank errors.
template <typename F>
auto ort_call(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Ort::Exception& e) {
    throw Error(ErrorKind::backend, what + ": " + e.what());
  }
}

std::atomic<bool> g_schemas_registered{false};

// Debian's ONNX Runtime prints several hundred "Schema error ... already registered" lines
// when the first environment and session register the ONNX operator schemas a second time
// (the shared libonnx already did). Filtering stderr until the first session exists hides
// exactly that and lets every other line through.
template <typename F>
auto with_schema_noise_filtered(F&& f) -> decltype(f()) {
  if (g_schemas_registered.load()) return f();
  StderrLineFilter filter(is_onnx_schema_noise);
  auto result = f();
  g_schemas_registered.store(true);
  if (filter.n_dropped() > 0)
    log_debug("onnxruntime: hid {} schema registration messages", filter.n_dropped());
  return result;
}

// One environment per process, deliberately never destroyed: sessions held in static
// storage elsewhere would otherwise outlive it at exit.
Ort::Env& ort_env() {
  static Ort::Env* env = ort_call("cannot create the ONNX Runtime environment",
                                  [] { return new Ort::Env(ORT_LOGGING_LEVEL_WARNING, "georank"); });
  return *env;
}

struct Branch {
  std::shared_ptr<Ort::Session> session;
  std::string model_path;
  std::vector<std::string> input_names;                 // every graph input, in graph order
  std::vector<std::vector<std::int64_t>> input_shapes;  // declared; -1 for symbolic dims
  std::size_t input_index = 0;                          // the input this view feeds
  std::string output_name;
  std::size_t declared_dim = 0;  // values per image from the declared output shape; 0: symbolic
  int height = 0;
  int width = 0;
};

std::vector<std::int64_t> declared_shape(const Ort::TypeInfo& info) {
  auto tensor = info.GetTensorTypeAndShapeInfo();
  return tensor.GetShape();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

struct Encoder::Impl {
  ModelCard card;
  EncoderOptions options;
  Branch ground;
  Branch aerial;
  std::size_t dim = 0;
  std::string fingerprint;

  const Branch& branch(View v) const { return v == View::ground ? ground : aerial; }

  std::shared_ptr<Ort::Session> open_session(const std::string& path) const {
    if (!fs::exists(path)) throw Error(ErrorKind::not_found, "encoder model not found: " + path);
    return with_schema_noise_filtered([&] {
      Ort::Env& env = ort_env();
      return ort_call("cannot load ONNX model " + path, [&] {
        Ort::SessionOptions so;
        if (options.n_threads > 0) so.SetIntraOpNumThreads(options.n_threads);
        so.SetInterOpNumThreads(1);
        so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
        so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
        return std::make_shared<Ort::Session>(env, path.c_str(), so);
      });
    });
  }

  Branch make_branch(View view, std::map<std::string, std::shared_ptr<Ort::Session>>& sessions) const {
    const EncoderBranch& spec = card.branch(view);
    Branch b;
    b.model_path = card.model_path(view);
    auto& session = sessions[b.model_path];
    if (!session) {
      const auto t0 = std::chrono::steady_clock::now();
      session = open_session(b.model_path);
      log_debug("encoder: loaded {} in {:.2f} s", b.model_path,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    b.session = session;
    b.height = spec.height;
    b.width = spec.width;
    const std::string where = std::string("ONNX model ") + b.model_path + " (" + to_string(view) + " branch)";
    ort_call("cannot inspect " + where, [&] {
      b.input_names = session->GetInputNames();
      for (std::size_t i = 0; i < b.input_names.size(); ++i)
        b.input_shapes.push_back(declared_shape(session->GetInputTypeInfo(i)));
      const auto outputs = session->GetOutputNames();
      if (outputs.empty()) throw Error(ErrorKind::backend, where + " has no outputs");
      b.output_name = spec.output.empty() ? outputs.front() : spec.output;
      if (std::find(outputs.begin(), outputs.end(), b.output_name) == outputs.end())
        throw Error(ErrorKind::backend,
                    where + " has no output '" + b.output_name + "' (outputs: " + join(outputs) + ")");
      const auto out_type = session->GetOutputTypeInfo(static_cast<std::size_t>(
          std::find(outputs.begin(), outputs.end(), b.output_name) - outputs.begin()));
      if (out_type.GetTensorTypeAndShapeInfo().GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        throw Error(ErrorKind::backend, where + ": output '" + b.output_name + "' is not float32");
      const auto out_shape = out_type.GetTensorTypeAndShapeInfo().GetShape();
      b.declared_dim = out_shape.size() >= 2 ? 1 : 0;
      for (std::size_t d = 1; d < out_shape.size(); ++d)
        b.declared_dim = out_shape[d] > 0 ? b.declared_dim * static_cast<std::size_t>(out_shape[d]) : 0;
      for (std::size_t i = 0; i < b.input_names.size(); ++i) {
        if (session->GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetElementType() !=
            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
          throw Error(ErrorKind::backend, where + ": input '" + b.input_names[i] + "' is not float32");
      }
      return 0;
    });
    if (b.input_names.empty()) throw Error(ErrorKind::backend, where + " has no inputs");
    const std::string input = spec.input.empty() ? b.input_names.front() : spec.input;
    const auto it = std::find(b.input_names.begin(), b.input_names.end(), input);
    if (it == b.input_names.end())
      throw Error(ErrorKind::backend,
                  where + " has no input '" + input + "' (inputs: " + join(b.input_names) + ")");
    b.input_index = static_cast<std::size_t>(it - b.input_names.begin());
    const auto& shape = b.input_shapes[b.input_index];
    if (shape.size() != 4)
      throw Error(ErrorKind::backend, where + ": input '" + input + "' has rank " +
                                          std::to_string(shape.size()) + ", expected 4");
    const bool nchw = card.data_layout == DataLayout::nchw;
    const std::int64_t c = nchw ? shape[1] : shape[3], h = nchw ? shape[2] : shape[1],
                       w = nchw ? shape[3] : shape[2];
    if (c > 0 && c != 3)
      throw Error(ErrorKind::backend, where + ": input '" + input + "' has " + std::to_string(c) +
                                          " channels in " + (nchw ? "NCHW" : "NHWC") + " order, expected 3");
    if ((h > 0 && h != b.height) || (w > 0 && w != b.width))
      throw Error(ErrorKind::backend, where + ": input '" + input + "' is fixed at " + std::to_string(h) +
                                          "x" + std::to_string(w) + " but the model card says " +
                                          std::to_string(b.height) + "x" + std::to_string(b.width) +
                                          " (height x width)");
    return b;
  }

  std::vector<std::int64_t> tensor_shape(std::int64_t n, int height, int width) const {
    if (card.data_layout == DataLayout::nchw) return {n, 3, height, width};
    return {n, height, width, 3};
  }

  void preprocess_into(View view, const Image& image, float* out) const {
    const Branch& b = branch(view);
    if (image.width <= 0 || image.height <= 0 ||
        image.rgb.size() !=
            static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3)
      throw Error(ErrorKind::invalid_argument,
                  "encoder: malformed image (size does not match its pixel buffer)");
    Image resized;
    const Image* src = &image;
    if (image.width != b.width || image.height != b.height) {
      resized = resize(image, b.width, b.height, card.resize);
      src = &resized;
    }
    const std::size_t plane = static_cast<std::size_t>(b.width) * static_cast<std::size_t>(b.height);
    std::array<float, 3> scale{}, offset{};
    for (int c = 0; c < 3; ++c) {
      // (p / pixel_scale - mean) / std as one multiply-add per value.
      scale[c] = 1.0f / (card.pixel_scale * card.std[c]);
      offset[c] = -card.mean[c] / card.std[c];
    }
    const bool bgr = card.channel_order == ChannelOrder::bgr;
    const std::uint8_t* px = src->rgb.data();
    for (std::size_t i = 0; i < plane; ++i) {
      for (int c = 0; c < 3; ++c) {
        const int src_c = bgr ? 2 - c : c;
        const float v =
            static_cast<float>(px[i * 3 + static_cast<std::size_t>(src_c)]) * scale[c] + offset[c];
        if (card.data_layout == DataLayout::nchw)
          out[static_cast<std::size_t>(c) * plane + i] = v;
        else
          out[i * 3 + static_cast<std::size_t>(c)] = v;
      }
    }
  }

  // Runs one batch (n images already preprocessed in `input`) and returns n x dim floats.
  std::vector<float> run(View view, std::vector<float>& input, std::int64_t n) const {
    const Branch& b = branch(view);
    const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> values;
    std::vector<std::vector<float>> filler(b.input_names.size());
    std::vector<const char*> names;
    const std::string where = "ONNX model " + b.model_path + " (" + to_string(view) + " branch)";
    return ort_call("inference failed in " + where, [&] {
      for (std::size_t i = 0; i < b.input_names.size(); ++i) {
        names.push_back(b.input_names[i].c_str());
        if (i == b.input_index) {
          const auto shape = tensor_shape(n, b.height, b.width);
          values.push_back(Ort::Value::CreateTensor<float>(memory, input.data(), input.size(), shape.data(),
                                                           shape.size()));
          continue;
        }
        // The other view's input of a dual model: ONNX Runtime wants every input fed, and a
        // zero-image batch keeps the unused branch free (a fixed batch gets zeros).
        std::vector<std::int64_t> shape = b.input_shapes[i];
        const Branch& other = branch(view == View::ground ? View::aerial : View::ground);
        const bool is_other_view = other.session == b.session && other.input_index == i;
        const auto fallback =
            tensor_shape(0, is_other_view ? other.height : b.height, is_other_view ? other.width : b.width);
        for (std::size_t d = 0; d < shape.size(); ++d) {
          if (shape[d] < 0) shape[d] = d < fallback.size() ? fallback[d] : 1;
        }
        const auto count = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
        filler[i].assign(static_cast<std::size_t>(count), 0.0f);
        values.push_back(Ort::Value::CreateTensor<float>(memory, filler[i].data(), filler[i].size(),
                                                         shape.data(), shape.size()));
      }
      const char* output_name = b.output_name.c_str();
      auto outputs = b.session->Run(Ort::RunOptions{nullptr}, names.data(), values.data(), values.size(),
                                    &output_name, 1);
      const auto info = outputs.front().GetTensorTypeAndShapeInfo();
      const auto shape = info.GetShape();
      if (shape.empty() || shape[0] != n)
        throw Error(ErrorKind::backend, where + ": output '" + b.output_name + "' has batch " +
                                            (shape.empty() ? std::string("none") : std::to_string(shape[0])) +
                                            ", expected " + std::to_string(n));
      const std::size_t total = info.GetElementCount();
      const std::size_t row = total / static_cast<std::size_t>(n);
      if (dim != 0 && row != dim)
        throw Error(ErrorKind::backend, where + ": output '" + b.output_name + "' has " +
                                            std::to_string(row) + " values per image, the other branch " +
                                            std::to_string(dim));
      const float* data = outputs.front().GetTensorData<float>();
      std::vector<float> result(data, data + total);
      if (!card.l2_normalized) {
        for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
          float* v = result.data() + r * row;
          double sq = 0;
          for (std::size_t k = 0; k < row; ++k) sq += static_cast<double>(v[k]) * v[k];
          if (sq > 0) {
            const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
            for (std::size_t k = 0; k < row; ++k) v[k] *= inv;
          }
        }
      }
      return result;
    });
  }

  std::vector<float> embed(View view, std::span<const Image> images) const {
    const Branch& b = branch(view);
    const std::size_t per_image = 3 * static_cast<std::size_t>(b.height) * static_cast<std::size_t>(b.width);
    const std::size_t batch = static_cast<std::size_t>(std::max(1, options.batch_size));
    std::vector<float> out;
    out.reserve(images.size() * dim);
    std::vector<float> input;
    for (std::size_t start = 0; start < images.size(); start += batch) {
      const std::size_t n = std::min(batch, images.size() - start);
      input.resize(n * per_image);
      for (std::size_t i = 0; i < n; ++i)
        preprocess_into(view, images[start + i], input.data() + i * per_image);
      const auto rows = run(view, input, static_cast<std::int64_t>(n));
      out.insert(out.end(), rows.begin(), rows.end());
    }
    return out;
  }
};

Encoder::Encoder(ModelCard card, EncoderOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.card = std::move(card);
  s.options = options;
  if (s.options.batch_size < 1)
    throw Error(ErrorKind::invalid_argument, "encoder batch size must be at least 1");
  if (s.options.n_threads < 0)
    throw Error(ErrorKind::invalid_argument, "encoder thread count must not be negative");
  for (View v : {View::ground, View::aerial})
    if (s.card.model_path(v).empty())
      throw Error(ErrorKind::invalid_argument,
                  std::string("model card names no ONNX file for the ") + to_string(v) + " branch");

  std::map<std::string, std::shared_ptr<Ort::Session>> sessions;
  s.ground = s.make_branch(View::ground, sessions);
  s.aerial = s.make_branch(View::aerial, sessions);

  // The embedding width: from the declared output shapes when they are fixed, else one blank
  // image through each branch settles it.
  if (s.ground.declared_dim > 0 && s.ground.declared_dim == s.aerial.declared_dim) {
    s.dim = s.ground.declared_dim;
  } else {
    for (View v : {View::ground, View::aerial}) {
      const Branch& b = s.branch(v);
      Image blank;
      blank.width = b.width;
      blank.height = b.height;
      blank.rgb.assign(static_cast<std::size_t>(b.width) * static_cast<std::size_t>(b.height) * 3, 127);
      std::vector<float> input(3 * static_cast<std::size_t>(b.width) * static_cast<std::size_t>(b.height));
      s.preprocess_into(v, blank, input.data());
      const auto row = s.run(v, input, 1);
      if (row.empty())
        throw Error(ErrorKind::backend, "ONNX model " + b.model_path + " returns an empty embedding");
      s.dim = row.size();
    }
  }
  if (s.card.embedding_dim > 0 && static_cast<std::size_t>(s.card.embedding_dim) != s.dim)
    throw Error(ErrorKind::backend,
                "ONNX model " + s.ground.model_path + " returns " + std::to_string(s.dim) +
                    "-dimensional embeddings, the model card says " + std::to_string(s.card.embedding_dim));

  // Fingerprint: model bytes plus every card field that changes what the network sees.
  std::string material;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& [path, session] : sessions) material += sha256_file(path) + "\n";
  log_debug("encoder: fingerprinted the model in {:.2f} s",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  ModelCard canonical = s.card;
  canonical.name.clear();
  canonical.description.clear();
  canonical.ground.model = fs::path(canonical.ground.model).filename().string();
  canonical.aerial.model = fs::path(canonical.aerial.model).filename().string();
  canonical.ground.input = s.ground.input_names[s.ground.input_index];
  canonical.aerial.input = s.aerial.input_names[s.aerial.input_index];
  canonical.ground.output = s.ground.output_name;
  canonical.aerial.output = s.aerial.output_name;
  material += model_card_json(canonical);
  s.fingerprint =
      sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(material.data()), material.size()));
}

Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

std::vector<float> Encoder::embed(View view, std::span<const Image> images) const {
  return impl_->embed(view, images);
}

std::vector<float> Encoder::preprocess(View view, const Image& image) const {
  const Branch& b = impl_->branch(view);
  std::vector<float> out(3 * static_cast<std::size_t>(b.width) * static_cast<std::size_t>(b.height));
  impl_->preprocess_into(view, image, out.data());
  return out;
}

std::size_t Encoder::dim() const {
  return impl_->dim;
}
const ModelCard& Encoder::card() const {
  return impl_->card;
}
const EncoderOptions& Encoder::options() const {
  return impl_->options;
}
const std::string& Encoder::fingerprint() const {
  return impl_->fingerprint;
}

}  // namespace georank
