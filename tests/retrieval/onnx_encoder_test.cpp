#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "georank/core/error.hpp"
#include "georank/retrieval/encoder.hpp"
#include "georank/runtime/runtime.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<Image> load_all(const std::vector<test::ReferenceImage>& refs) {
  std::vector<Image> images;
  for (const auto& r : refs) images.push_back(load_image(r.path));
  return images;
}

// Largest absolute difference between our rows and PyTorch's.
float max_abs_diff(const std::vector<float>& rows, const std::vector<test::ReferenceImage>& refs,
                   std::size_t dim) {
  float worst = 0;
  for (std::size_t i = 0; i < refs.size(); ++i)
    for (std::size_t k = 0; k < dim; ++k)
      worst = std::max(worst, std::abs(rows[i * dim + k] - refs[i].embedding[k]));
  return worst;
}

void expect_matches_pytorch(const Encoder& encoder, const std::string& dir) {
  for (View view : {View::ground, View::aerial}) {
    SCOPED_TRACE(to_string(view));
    const auto refs = test::reference_images(dir, to_string(view));
    ASSERT_GE(refs.size(), 2u);
    // The fixture includes images at twice the input size: they exercise the resize too.
    EXPECT_TRUE(std::any_of(refs.begin(), refs.end(),
                            [&](const auto& r) { return r.width != encoder.card().branch(view).width; }));
    const auto rows = encoder.embed(view, load_all(refs));
    ASSERT_EQ(rows.size(), refs.size() * encoder.dim());
    EXPECT_LT(max_abs_diff(rows, refs, encoder.dim()), 1e-5f);
  }
}

TEST(OnnxEncoder, DualInputModelMatchesPyTorchForBothViews) {
  const std::string dir = test::encoder_fixture_dir();
  // Batches of 3 over 4 images: one full and one partial batch.
  Encoder encoder(resolve_model_card(dir + "/encoder.onnx"), {.n_threads = 1, .batch_size = 3});
  EXPECT_EQ(encoder.dim(), 128u);
  EXPECT_TRUE(encoder.card().random_weights);
  expect_matches_pytorch(encoder, dir);
}

TEST(OnnxEncoder, SeparateFilesPerViewMatchPyTorch) {
  const std::string dir = test::encoder_fixture_dir();
  Encoder encoder(resolve_model_card("", dir + "/separate.card.json"), {.n_threads = 1, .batch_size = 2});
  EXPECT_NE(encoder.card().model_path(View::ground), encoder.card().model_path(View::aerial));
  expect_matches_pytorch(encoder, dir);
}

TEST(OnnxEncoder, RowsAreUnitLengthAndIndependentOfBatchSize) {
  const std::string dir = test::encoder_fixture_dir();
  const auto images = load_all(test::reference_images(dir, "aerial"));
  const auto card = resolve_model_card(dir + "/encoder.onnx");
  const auto one_by_one = Encoder(card, {.n_threads = 1, .batch_size = 1}).embed_aerial(images);
  const auto all_at_once = Encoder(card, {.n_threads = 2, .batch_size = 8}).embed_aerial(images);
  ASSERT_EQ(one_by_one.size(), all_at_once.size());
  for (std::size_t i = 0; i < one_by_one.size(); ++i) EXPECT_NEAR(one_by_one[i], all_at_once[i], 1e-6f);
  for (std::size_t r = 0; r < images.size(); ++r) {
    double sq = 0;
    for (std::size_t k = 0; k < 128; ++k) sq += one_by_one[r * 128 + k] * one_by_one[r * 128 + k];
    EXPECT_NEAR(sq, 1.0, 1e-5);
  }
}

TEST(OnnxEncoder, EmbedsAnEmptyBatchAsNoRows) {
  Encoder encoder(resolve_model_card(test::encoder_fixture_dir() + "/encoder.onnx"), {.n_threads = 1});
  EXPECT_TRUE(encoder.embed_ground({}).empty());
}

TEST(OnnxEncoder, PreprocessingNormalisesWithTheCardsMeanAndStd) {
  const std::string dir = test::encoder_fixture_dir();
  Encoder encoder(resolve_model_card(dir + "/encoder.onnx"), {.n_threads = 1});
  Image image;
  image.width = 128;
  image.height = 64;
  image.rgb.assign(128 * 64 * 3, 0);
  image.rgb[0] = 255;                     // pixel (0,0): red 255, green 0
  image.rgb[(5 * 128 + 7) * 3 + 2] = 51;  // pixel (x 7, y 5): blue 51
  const auto x = encoder.preprocess(View::ground, image);
  ASSERT_EQ(x.size(), 3u * 64 * 128);
  const std::size_t plane = 64 * 128;
  EXPECT_NEAR(x[0], (1.0 - 0.485) / 0.229, 1e-5);                        // R(0,0)
  EXPECT_NEAR(x[plane], (0.0 - 0.456) / 0.224, 1e-5);                    // G(0,0)
  EXPECT_NEAR(x[2 * plane + 5 * 128 + 7], (0.2 - 0.406) / 0.225, 1e-5);  // B(7,5)
}

TEST(OnnxEncoder, FingerprintFollowsTheModelBytes) {
  const std::string dir = test::encoder_fixture_dir();
  const auto card = resolve_model_card(dir + "/encoder.onnx");
  const Encoder a(card, {.n_threads = 1});
  const Encoder b(card, {.n_threads = 2, .batch_size = 1});
  const Encoder separate(resolve_model_card("", dir + "/separate.card.json"), {.n_threads = 1});
  EXPECT_EQ(a.fingerprint().size(), 64u);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());  // threads and batching do not change embeddings
  EXPECT_NE(a.fingerprint(), separate.fingerprint());
}

TEST(OnnxEncoder, UnknownInputNameIsABackendErrorListingTheInputs) {
  const std::string dir = test::encoder_fixture_dir();
  auto card = resolve_model_card(dir + "/encoder.onnx");
  card.ground.input = "panorama";
  try {
    Encoder encoder(card, {.n_threads = 1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::backend);
    EXPECT_THAT(e.what(), HasSubstr("encoder.onnx"));
    EXPECT_THAT(e.what(), HasSubstr("'panorama'"));
    EXPECT_THAT(e.what(), HasSubstr("ground, aerial"));
  }
}

TEST(OnnxEncoder, InputSizeContradictingTheModelIsRejected) {
  const std::string dir = test::encoder_fixture_dir();
  auto card = resolve_model_card("", dir + "/separate.card.json");  // fixed 64x128 / 64x64 inputs
  card.ground.width = 96;
  try {
    Encoder encoder(card, {.n_threads = 1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::backend);
    EXPECT_THAT(e.what(), HasSubstr("64x128"));
  }
}

TEST(OnnxEncoder, CorruptModelFileIsABackendErrorNamingTheFile) {
  const std::string dir = test::scratch_root() + "/onnx-encoder-corrupt";
  fs::create_directories(dir);
  const std::string model = dir + "/broken.onnx";
  std::ofstream(model) << "this is not a protobuf";
  try {
    Encoder encoder(resolve_model_card(model), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::backend);
    EXPECT_THAT(e.what(), HasSubstr(model));
  }
}

TEST(OnnxEncoder, MissingModelFileIsNotFound) {
  try {
    Encoder encoder(resolve_model_card("/nonexistent/encoder.onnx"), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/encoder.onnx"));
  }
}

// ---- stderr noise of Debian's ONNX Runtime, seen from a fresh process ------------------------
// The first session in a process is the one that prints the noise, so these run this test
// binary again with a filter that selects one of the DISABLED_ bodies below.

TEST(OnnxEncoderStderr, DISABLED_CreateEncoder) {
  Encoder encoder(resolve_model_card(test::encoder_fixture_dir() + "/encoder.onnx"), {.n_threads = 1});
  std::fprintf(stderr, "encoder ready: %zu\n", encoder.dim());
}

TEST(OnnxEncoderStderr, DISABLED_CreatePlainOrtSession) {
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "plain");
  Ort::Session session(env, (test::encoder_fixture_dir() + "/encoder.onnx").c_str(), Ort::SessionOptions{});
  std::fprintf(stderr, "session ready\n");
}

TEST(OnnxEncoderStderr, FirstSessionLeavesStderrFreeOfSchemaNoise) {
  test::encoder_fixture_dir();  // generate outside the child, whose stderr is inspected
  const auto r = test::run_own_tests("OnnxEncoderStderr.DISABLED_CreateEncoder");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("Schema error")));
  EXPECT_THAT(r.err, HasSubstr("encoder ready: 128\n"));  // our own line still gets through
}

TEST(OnnxEncoderStderr, PlainOnnxRuntimeSessionWouldPrintTheNoise) {
  // Shows that the check above can fail: without the filter this build prints the noise.
  if (runtime_mode() != "prefix") GTEST_SKIP() << "the noise is specific to Debian's ONNX Runtime build";
  test::encoder_fixture_dir();
  const auto r = test::run_own_tests("OnnxEncoderStderr.DISABLED_CreatePlainOrtSession");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("Schema error: Trying to register schema"));
  EXPECT_THAT(r.err, HasSubstr("session ready\n"));
}

}  // namespace
}  // namespace georank
