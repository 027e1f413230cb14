#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "georank/retrieval/encoder.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string scratch(const std::string& name) {
  const std::string dir = test::scratch_root() + "/model-card/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void expect_invalid(const std::string& path, const std::string& text, const std::string& field) {
  std::ofstream(path) << text;
  try {
    load_model_card(path);
    FAIL() << "expected an error for " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr(field));
  }
}

TEST(ModelCard, DefaultsDescribeASample4GeoExport) {
  const ModelCard card;
  EXPECT_EQ(card.ground.height, 384);
  EXPECT_EQ(card.ground.width, 768);
  EXPECT_EQ(card.aerial.height, 384);
  EXPECT_EQ(card.aerial.width, 384);
  EXPECT_FLOAT_EQ(card.mean[0], 0.485f);
  EXPECT_FLOAT_EQ(card.std[2], 0.225f);
  EXPECT_EQ(card.channel_order, ChannelOrder::rgb);
  EXPECT_EQ(card.data_layout, DataLayout::nchw);
  EXPECT_TRUE(card.l2_normalized);
}

TEST(ModelCard, ReadsTheFixturesDualLayoutCard) {
  const std::string dir = test::encoder_fixture_dir();
  const ModelCard card = load_model_card(dir + "/encoder.card.json");
  EXPECT_EQ(card.ground.input, "ground");
  EXPECT_EQ(card.aerial.input, "aerial");
  EXPECT_EQ(card.ground.output, "ground_embedding");
  EXPECT_EQ(card.ground.height, 64);
  EXPECT_EQ(card.ground.width, 128);
  EXPECT_EQ(card.aerial.width, 64);
  EXPECT_EQ(card.embedding_dim, 128);
  EXPECT_TRUE(card.random_weights);
  EXPECT_EQ(fs::path(card.model_path(View::ground)), fs::absolute(dir + "/encoder.onnx").lexically_normal());
  EXPECT_EQ(card.model_path(View::ground), card.model_path(View::aerial));
}

TEST(ModelCard, IsFoundBesideTheModelAndOtherwiseDefaults) {
  const std::string dir = scratch("beside");
  std::ofstream(dir + "/net.onnx") << "x";
  EXPECT_EQ(model_card_path_for(dir + "/net.onnx"), dir + "/net.card.json");
  const ModelCard plain = resolve_model_card(dir + "/net.onnx");
  EXPECT_EQ(plain.ground.width, 768);  // no card: Sample4Geo defaults, one shared branch
  EXPECT_EQ(plain.model_path(View::ground), plain.model_path(View::aerial));
  EXPECT_EQ(plain.model_path(View::aerial), fs::absolute(dir + "/net.onnx").string());

  std::ofstream(dir + "/net.card.json")
      << R"({"aerial": {"height": 256, "width": 256}, "channel_order": "BGR"})";
  const ModelCard beside = resolve_model_card(dir + "/net.onnx");
  EXPECT_EQ(beside.aerial.width, 256);
  EXPECT_EQ(beside.ground.width, 768);  // unspecified fields keep their defaults
  EXPECT_EQ(beside.channel_order, ChannelOrder::bgr);
  EXPECT_EQ(beside.model_path(View::aerial), fs::absolute(dir + "/net.onnx").string());
}

TEST(ModelCard, SurvivesASaveLoadRoundTrip) {
  const std::string dir = scratch("roundtrip");
  ModelCard card;
  card.name = "mine";
  card.ground = {"g.onnx", "pano", "emb", 320, 640};
  card.aerial = {"a.onnx", "sat", "emb", 256, 256};
  card.mean = {0.5f, 0.5f, 0.5f};
  card.std = {0.25f, 0.5f, 0.75f};
  card.pixel_scale = 1.0f;
  card.channel_order = ChannelOrder::bgr;
  card.data_layout = DataLayout::nhwc;
  card.resize = ResizeFilter::area;
  card.l2_normalized = false;
  card.embedding_dim = 512;
  save_model_card(card, dir + "/card.json");
  const ModelCard back = load_model_card(dir + "/card.json");
  EXPECT_EQ(back.name, "mine");
  EXPECT_EQ(back.ground.input, "pano");
  EXPECT_EQ(back.ground.height, 320);
  EXPECT_EQ(back.aerial.model, "a.onnx");
  EXPECT_EQ(back.model_path(View::aerial), fs::absolute(dir + "/a.onnx").lexically_normal().string());
  EXPECT_EQ(back.std, card.std);
  EXPECT_FLOAT_EQ(back.pixel_scale, 1.0f);
  EXPECT_EQ(back.channel_order, ChannelOrder::bgr);
  EXPECT_EQ(back.data_layout, DataLayout::nhwc);
  EXPECT_EQ(back.resize, ResizeFilter::area);
  EXPECT_FALSE(back.l2_normalized);
  EXPECT_EQ(back.embedding_dim, 512);
  EXPECT_THAT(model_card_json(card), HasSubstr("\"layout\": \"separate\""));
}

TEST(ModelCard, MalformedFieldsAreNamed) {
  const std::string path = scratch("malformed") + "/card.json";
  expect_invalid(path, R"({"ground": {"height": "tall"}})", "ground.height");
  expect_invalid(path, R"({"aerial": {"width": 0}})", "aerial.width");
  expect_invalid(path, R"({"std": [0.2, 0, 0.2]})", "std");
  expect_invalid(path, R"({"mean": [0.5, 0.5]})", "mean");
  expect_invalid(path, R"({"channel_order": "RGBA"})", "channel_order");
  expect_invalid(path, R"({"data_layout": "CHW"})", "data_layout");
  expect_invalid(path, R"({"format": "georank-encoder-card/9"})", "format");
  expect_invalid(path, R"({"ground": 5})", "ground");
  expect_invalid(path, "{not json", "JSON");
}

TEST(ModelCard, MissingCardIsNotFound) {
  try {
    load_model_card("/nonexistent/card.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

}  // namespace
}  // namespace georank
