#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "georank/encoder.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string export_script() {
  return std::string(GEORANK_SOURCE_DIR) + "/scripts/export_sample4geo.py";
}

// The fixture's checkpoint.pth holds the same weights as its encoder.onnx, saved the way
// Sample4Geo's training saves them, so the export must reproduce PyTorch's embeddings.
TEST(ExportSample4Geo, CheckpointBecomesASharedBranchModelThatMatchesPyTorch) {
  const std::string fixture = test::encoder_fixture_dir();
  const std::string out = test::scratch_root() + "/export-sample4geo";
  fs::remove_all(out);
  const auto r =
      test::run_command(std::string(GEORANK_PYTHON) + " " + test::shell_quote(export_script()) +
                        " --checkpoint " + test::shell_quote(fixture + "/checkpoint.pth") + " --out " +
                        test::shell_quote(out) + " --ground-size 64x128 --aerial-size 64x64");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  const ModelCard card = resolve_model_card(out + "/sample4geo.onnx");  // found beside the model
  EXPECT_EQ(card.ground.model, "sample4geo.onnx");
  EXPECT_EQ(card.aerial.model, "sample4geo.onnx");
  EXPECT_EQ(card.ground.input, "image");
  EXPECT_EQ(card.aerial.input, "image");
  EXPECT_EQ(card.ground.output, "embedding");
  EXPECT_EQ(card.ground.height, 64);
  EXPECT_EQ(card.ground.width, 128);
  EXPECT_EQ(card.aerial.width, 64);
  EXPECT_EQ(card.embedding_dim, 128);
  EXPECT_TRUE(card.l2_normalized);
  EXPECT_FLOAT_EQ(card.mean[1], 0.456f);
  EXPECT_THAT(card.description, HasSubstr("widths [16, 32, 64, 128]"));

  // One session serves both views at their own sizes (dynamic height and width).
  Encoder encoder(card, {.n_threads = 1, .batch_size = 4});
  for (View view : {View::ground, View::aerial}) {
    SCOPED_TRACE(to_string(view));
    const auto refs = test::reference_images(fixture, to_string(view));
    std::vector<Image> images;
    for (const auto& ref : refs) images.push_back(load_image(ref.path));
    const auto rows = encoder.embed(view, images);
    float worst = 0;
    for (std::size_t i = 0; i < refs.size(); ++i)
      for (std::size_t k = 0; k < encoder.dim(); ++k)
        worst = std::max(worst, std::abs(rows[i * encoder.dim() + k] - refs[i].embedding[k]));
    EXPECT_LT(worst, 1e-5f);
  }
}

TEST(ExportSample4Geo, UnreadableCheckpointFailsWithOneLineNamingIt) {
  const std::string fixture = test::encoder_fixture_dir();
  const std::string bogus = fixture + "/reference.json";
  const std::string out = test::scratch_root() + "/export-sample4geo-bad";
  const auto r =
      test::run_command(std::string(GEORANK_PYTHON) + " " + test::shell_quote(export_script()) +
                        " --checkpoint " + test::shell_quote(bogus) + " --out " + test::shell_quote(out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("cannot use checkpoint " + bogus));
  EXPECT_FALSE(fs::exists(out + "/sample4geo.onnx"));
}

}  // namespace
}  // namespace georank
