#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/retrieval/encoder.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kCardFormat = "georank-encoder-card/1";

[[noreturn]] void bad_field(const std::string& path, const std::string& field, const std::string& why) {
  throw Error(ErrorKind::invalid_argument, "model card " + path + ": field '" + field + "' " + why);
}

template <typename T>
void read_field(const json& j, const char* key, T& out, const std::string& path,
                const std::string& where = "") {
  if (!j.contains(key) || j.at(key).is_null()) return;
  try {
    out = j.at(key).get<T>();
  } catch (const json::exception&) {
    bad_field(path, where + key, "has the wrong type (" + std::string(j.at(key).type_name()) + ")");
  }
}

EncoderBranch read_branch(const json& j, const char* key, EncoderBranch branch, const std::string& path) {
  if (!j.contains(key)) return branch;
  const json& b = j.at(key);
  if (!b.is_object()) bad_field(path, key, "must be an object");
  const std::string where = std::string(key) + ".";
  read_field(b, "model", branch.model, path, where);
  read_field(b, "input", branch.input, path, where);
  read_field(b, "output", branch.output, path, where);
  read_field(b, "height", branch.height, path, where);
  read_field(b, "width", branch.width, path, where);
  if (branch.height <= 0 || branch.height > 8192) bad_field(path, where + "height", "must be in 1..8192");
  if (branch.width <= 0 || branch.width > 8192) bad_field(path, where + "width", "must be in 1..8192");
  return branch;
}

json branch_json(const EncoderBranch& b) {
  return json{
      {"model", b.model}, {"input", b.input}, {"output", b.output}, {"height", b.height}, {"width", b.width}};
}

std::string layout_name(const ModelCard& card) {
  if (card.ground.model != card.aerial.model) return "separate";
  if (card.ground.input != card.aerial.input) return "dual";
  return "shared";
}

}  // namespace

const char* to_string(View view) noexcept {
  return view == View::ground ? "ground" : "aerial";
}

std::string ModelCard::model_path(View view) const {
  const std::string& m = branch(view).model;
  if (m.empty()) return {};
  fs::path p(m);
  if (p.is_relative() && !folder.empty()) p = fs::path(folder) / p;
  return fs::absolute(p).lexically_normal().string();
}

ModelCard load_model_card(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (!fs::exists(path)) throw Error(ErrorKind::not_found, "model card not found: " + path);
    throw Error(ErrorKind::io, "cannot read model card " + path);
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw Error(ErrorKind::invalid_argument, "model card " + path + " is not valid JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error(ErrorKind::invalid_argument, "model card " + path + " must be a JSON object");

  ModelCard card;
  std::string format = kCardFormat;
  read_field(j, "format", format, path);
  if (format.rfind("georank-encoder-card/", 0) != 0)
    bad_field(path, "format", "is '" + format + "', expected '" + kCardFormat + "'");
  if (format != kCardFormat)
    bad_field(path, "format", "version '" + format + "' is newer than this georank understands");
  read_field(j, "name", card.name, path);
  read_field(j, "description", card.description, path);
  card.ground = read_branch(j, "ground", card.ground, path);
  card.aerial = read_branch(j, "aerial", card.aerial, path);
  read_field(j, "mean", card.mean, path);
  read_field(j, "std", card.std, path);
  for (float s : card.std)
    if (!(s > 0)) bad_field(path, "std", "must be positive");
  read_field(j, "pixel_scale", card.pixel_scale, path);
  if (!(card.pixel_scale > 0)) bad_field(path, "pixel_scale", "must be positive");

  std::string order = "RGB";
  read_field(j, "channel_order", order, path);
  if (order == "RGB" || order == "rgb")
    card.channel_order = ChannelOrder::rgb;
  else if (order == "BGR" || order == "bgr")
    card.channel_order = ChannelOrder::bgr;
  else
    bad_field(path, "channel_order", "is '" + order + "', expected RGB or BGR");

  std::string layout = "NCHW";
  read_field(j, "data_layout", layout, path);
  if (layout == "NCHW" || layout == "nchw")
    card.data_layout = DataLayout::nchw;
  else if (layout == "NHWC" || layout == "nhwc")
    card.data_layout = DataLayout::nhwc;
  else
    bad_field(path, "data_layout", "is '" + layout + "', expected NCHW or NHWC");

  std::string resize = "bilinear";
  read_field(j, "resize", resize, path);
  if (resize == "bilinear")
    card.resize = ResizeFilter::bilinear;
  else if (resize == "area")
    card.resize = ResizeFilter::area;
  else
    bad_field(path, "resize", "is '" + resize + "', expected bilinear or area");

  read_field(j, "l2_normalized", card.l2_normalized, path);
  read_field(j, "embedding_dim", card.embedding_dim, path);
  if (card.embedding_dim < 0) bad_field(path, "embedding_dim", "must not be negative");
  read_field(j, "random_weights", card.random_weights, path);
  card.folder = fs::absolute(fs::path(path)).parent_path().lexically_normal().string();
  return card;
}

std::string model_card_json(const ModelCard& card) {
  json j{{"format", kCardFormat},
         {"name", card.name},
         {"description", card.description},
         {"layout", layout_name(card)},
         {"ground", branch_json(card.ground)},
         {"aerial", branch_json(card.aerial)},
         {"mean", card.mean},
         {"std", card.std},
         {"pixel_scale", card.pixel_scale},
         {"channel_order", card.channel_order == ChannelOrder::rgb ? "RGB" : "BGR"},
         {"data_layout", card.data_layout == DataLayout::nchw ? "NCHW" : "NHWC"},
         {"resize", card.resize == ResizeFilter::bilinear ? "bilinear" : "area"},
         {"l2_normalized", card.l2_normalized},
         {"embedding_dim", card.embedding_dim},
         {"random_weights", card.random_weights}};
  return j.dump(2) + "\n";
}

void save_model_card(const ModelCard& card, const std::string& path) {
  write_file_atomic(path, model_card_json(card));
}

std::string model_card_path_for(const std::string& model_path) {
  fs::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".card.json")).string();
}

ModelCard resolve_model_card(const std::string& model_path, const std::string& card_path) {
  ModelCard card;
  if (!card_path.empty()) {
    card = load_model_card(card_path);
  } else if (!model_path.empty() && fs::exists(model_card_path_for(model_path))) {
    card = load_model_card(model_card_path_for(model_path));
  } else {
    card.name = model_path.empty() ? "" : fs::path(model_path).stem().string();
    card.folder = fs::current_path().string();
  }
  for (EncoderBranch* b : {&card.ground, &card.aerial}) {
    if (b->model.empty())
      b->model = model_path.empty() ? "" : fs::absolute(model_path).lexically_normal().string();
    if (b->model.empty())
      throw Error(ErrorKind::invalid_argument,
                  "no encoder model: give --model, or a --card whose ground and aerial name their ONNX file");
  }
  return card;
}

}  // namespace georank
