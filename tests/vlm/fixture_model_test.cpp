#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "georank/error.hpp"
#include "georank/llama_backend.hpp"
#include "georank/vlm_fixture.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(VlmFixture, SameSeedGivesIdenticalFilesAndOtherSeedsDiffer) {
  const std::string dir = test::scratch_root() + "/vlm-fixture-determinism";
  const auto a = write_vlm_fixture(dir + "/a", 11);
  const auto b = write_vlm_fixture(dir + "/b", 11);
  const auto c = write_vlm_fixture(dir + "/c", 12);
  EXPECT_FALSE(read_all(a.text_model).empty());
  EXPECT_EQ(read_all(a.text_model), read_all(b.text_model));
  EXPECT_EQ(read_all(a.mmproj), read_all(b.mmproj));
  EXPECT_NE(read_all(a.text_model), read_all(c.text_model));
  EXPECT_NE(read_all(a.mmproj), read_all(c.mmproj));
  EXPECT_EQ(read_all(a.text_model).size(), read_all(c.text_model).size());
}

TEST(VlmFixture, TheCliWritesTheSameFilesAsTheLibrary) {
  const std::string dir = test::scratch_root() + "/vlm-fixture-cli";
  const auto lib = write_vlm_fixture(dir + "/lib", 5);
  const std::string cmd =
      std::string(GEORANK_CLI_PATH) + " fixtures vlm --out " + dir + "/cli --seed 5 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_all(dir + "/cli/text.gguf"), read_all(lib.text_model));
  EXPECT_EQ(read_all(dir + "/cli/mmproj.gguf"), read_all(lib.mmproj));
  const std::string bad =
      std::string(GEORANK_CLI_PATH) + " fixtures vlm --out " + dir + "/x --shape huge 2> /dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

TEST(VlmFixture, UnknownShapeIsRejected) {
  EXPECT_EQ(parse_vlm_fixture_shape("bench"), VlmFixtureShape::bench);
  EXPECT_THROW(parse_vlm_fixture_shape("huge"), Error);
}

TEST(VlmFixture, TinyModelScoresTwoImagesWithFiniteLogProbabilities) {
  LlamaConfig cfg;
  cfg.model = testing::tiny_vlm().text_model;
  cfg.mmproj = testing::tiny_vlm().mmproj;
  cfg.n_ctx = 1024;
  cfg.threads = 1;
  const auto backend = make_llama_backend(cfg);
  VlmRequest req;
  req.images = {testing::noise_image(64, 48, 1), testing::noise_image(40, 40, 2)};
  req.raw_prompt = std::string("Image A: ") + kMediaMarker + "\nImage B: " + kMediaMarker +
                   "\nWhich image is brighter? Answer:";
  req.choices = {"A", "B"};
  const auto out = backend->run(std::span(&req, 1));
  ASSERT_EQ(out.size(), 1u);
  const VlmResponse& r = out[0];
  ASSERT_EQ(r.logprobs.size(), 2u);
  for (double lp : r.logprobs) {
    EXPECT_TRUE(std::isfinite(lp));
    EXPECT_LT(lp, 0.0);
  }
  EXPECT_NEAR(r.probs[0] + r.probs[1], 1.0, 1e-12);
  EXPECT_NEAR(r.probs[0], std::exp(r.logprobs[0]) / (std::exp(r.logprobs[0]) + std::exp(r.logprobs[1])),
              1e-12);
  // random weights spread the mass: neither answer is certain, and the set covers little
  EXPECT_GT(std::min(r.probs[0], r.probs[1]), 1e-3);
  EXPECT_GT(r.covered_mass, 0.0);
  EXPECT_LT(r.covered_mass, 1.0);
  EXPECT_EQ(r.n_image_tokens, 2 * 16);  // 32 px / patch 8 -> 16 tokens per image
  EXPECT_EQ(r.template_name, "raw");
}

}  // namespace
}  // namespace georank
