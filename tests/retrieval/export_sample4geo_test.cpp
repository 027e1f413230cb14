#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "georank/retrieval/encoder.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

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

// Runs `code` with the system Python (torch available); `{fixture}` is replaced by the encoder
// fixture's folder.
test::ProcessResult python(const std::string& code, const std::string& env = "") {
  std::string c = code;
  const std::string fixture = test::encoder_fixture_dir();
  for (std::size_t at; (at = c.find("{fixture}")) != std::string::npos;) c.replace(at, 9, fixture);
  return test::run_command(env + std::string(GEORANK_PYTHON) + " -c " + test::shell_quote(c));
}

test::ProcessResult export_checkpoint(const std::string& checkpoint, const std::string& out,
                                      const std::string& flags, const std::string& env = "") {
  return test::run_command(env + std::string(GEORANK_PYTHON) + " " + test::shell_quote(export_script()) +
                           " --checkpoint " + test::shell_quote(checkpoint) + " --out " +
                           test::shell_quote(out) + " --aerial-size 64x64 " + flags);
}

TEST(ExportSample4Geo, ATorchCompilePrefixIsStrippedAndDroppedKeysAreReported) {
  const std::string dir = test::fresh_work_dir("export-compiled");
  const auto saved = python(
      "import torch; s = torch.load('{fixture}/checkpoint.pth');"
      "torch.save({'_orig_mod.' + k: v for k, v in s.items()}, '" +
      dir + "/compiled.pth')");
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  const auto r = export_checkpoint(dir + "/compiled.pth", dir + "/out", "--ground-size 64x128");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("63 backbone tensors loaded strictly; dropped 1: _orig_mod.logit_scale"));
}

TEST(ExportSample4Geo, AGroundSizeThatIsNotAMultipleOf32IsAcceptedWithANote) {
  const std::string dir = test::fresh_work_dir("export-140");
  const auto r =
      export_checkpoint(test::encoder_fixture_dir() + "/checkpoint.pth", dir, "--ground-size 70x128");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("70x128 is not a multiple of 32"));
  EXPECT_EQ(resolve_model_card(dir + "/sample4geo.onnx").ground.height, 70);
}

TEST(ExportSample4Geo, TimmAskedForButMissingIsAClearError) {
  const std::string dir = test::fresh_work_dir("export-no-timm");
  // An empty folder first on the path hides any installed timm behind a module that fails.
  std::ofstream(dir + "/timm.py") << "raise ImportError('no timm here')\n";
  const auto r = export_checkpoint(test::encoder_fixture_dir() + "/checkpoint.pth", dir + "/out",
                                   "--backbone timm", "PYTHONPATH=" + dir + " ");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--backbone timm needs the timm package"));
  EXPECT_THAT(r.err, Not(HasSubstr("Traceback")));
}

TEST(ExportSample4Geo, AnOldTimmInAutoModeFallsBackToTheBuiltInConvNeXt) {
  const std::string dir = test::fresh_work_dir("export-old-timm");
  std::ofstream(dir + "/timm.py") << "__version__ = '0.6.12'\n"
                                     "def create_model(name, **kw):\n"
                                     "    raise RuntimeError('Unknown model (%s)' % name)\n";
  const std::string env = "PYTHONPATH=" + dir + " ";
  const auto r = export_checkpoint(test::encoder_fixture_dir() + "/checkpoint.pth", dir + "/out",
                                   "--ground-size 64x128", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("timm 0.6.12 does not know"));
  EXPECT_THAT(r.err, HasSubstr("using the built-in ConvNeXt"));
  const auto strict = export_checkpoint(test::encoder_fixture_dir() + "/checkpoint.pth", dir + "/out2",
                                        "--ground-size 64x128 --backbone timm", env);
  EXPECT_NE(strict.exit_code, 0);
  EXPECT_THAT(strict.err, HasSubstr("timm >= 0.8"));
}

TEST(ExportSample4Geo, ACheckpointWithPickledObjectsIsOnlyUnpickledWhenTrusted) {
  const std::string dir = test::fresh_work_dir("export-pickled");
  const auto saved = python(
      "import argparse, torch; s = torch.load('{fixture}/checkpoint.pth');"
      "torch.save({'model': s, 'args': argparse.Namespace(lr=1)}, '" +
      dir + "/pickled.pth')");
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  const auto r = export_checkpoint(dir + "/pickled.pth", dir + "/out", "--ground-size 64x128");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--trust-checkpoint"));
  const auto trusted =
      export_checkpoint(dir + "/pickled.pth", dir + "/out", "--ground-size 64x128 --trust-checkpoint");
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
}

}  // namespace
}  // namespace georank
