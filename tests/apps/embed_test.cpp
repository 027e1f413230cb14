#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "georank/retrieval/npy.hpp"
#include "retrieval/encoder_fixture.hpp"
#include "support/subprocess.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// A manifest dataset over the fixture images: queries g0..g3 (ground), tiles t0..t3 (aerial).
std::string make_manifest(const std::string& fixture, const std::string& dir) {
  std::ofstream queries(dir + "/queries.csv"), gallery(dir + "/gallery.csv"), labels(dir + "/labels.csv");
  queries << "query_id,path,lat,lon\n";
  gallery << "tile_id,path,lat,lon,m_per_px\n";
  labels << "query_id,positive\n";
  const auto ground = test::reference_images(fixture, "ground");
  for (std::size_t i = 0; i < ground.size(); ++i) {
    queries << "g" << i << "," << ground[i].path << ",,\n";
    gallery << "t" << i << "," << test::reference_images(fixture, "aerial")[i].path << ",,,\n";
    labels << "g" << i << ",t" << i << "\n";
  }
  return "manifest:" + dir;
}

std::string embed_command(const std::string& dataset, const std::string& model, const std::string& out,
                          const std::string& extra = "") {
  return test::shell_quote(GEORANK_CLI_PATH) + " embed --dataset " + test::shell_quote(dataset) +
         " --model " + test::shell_quote(model) + " --out-dir " + test::shell_quote(out) +
         " --threads 1 --batch 3 " + extra;
}

float max_diff_to_reference(const Embeddings& e, const std::vector<test::ReferenceImage>& refs) {
  float worst = 0;
  for (std::size_t i = 0; i < refs.size(); ++i)
    for (std::size_t k = 0; k < e.matrix.cols; ++k)
      worst = std::max(worst, std::abs(e.matrix.row(i)[k] - refs[i].embedding[k]));
  return worst;
}

TEST(EmbedCommand, WritesQueryAndGalleryEmbeddingsThatMatchPyTorch) {
  const std::string fixture = test::encoder_fixture_dir();
  const std::string dir = test::fresh_work_dir("embed-command");
  const std::string dataset = make_manifest(fixture, dir);
  const std::string out = dir + "/out";

  const auto r = test::run_command(embed_command(dataset, fixture + "/encoder.onnx", out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("Schema error")));
  EXPECT_THAT(r.err, HasSubstr("random weights"));

  const Embeddings queries = read_embeddings(out + "/queries.npy");
  const Embeddings gallery = read_embeddings(out + "/gallery.npy");
  EXPECT_EQ(queries.ids, (std::vector<std::string>{"g0", "g1", "g2", "g3"}));
  EXPECT_EQ(gallery.ids, (std::vector<std::string>{"t0", "t1", "t2", "t3"}));
  EXPECT_EQ(read_npy_header(out + "/queries.npy").dtype, NpyDtype::float32);
  EXPECT_LT(max_diff_to_reference(queries, test::reference_images(fixture, "ground")), 1e-5f);
  EXPECT_LT(max_diff_to_reference(gallery, test::reference_images(fixture, "aerial")), 1e-5f);

  const auto meta = nlohmann::json::parse(test::read_text(out + "/embeddings.meta.json"));
  EXPECT_EQ(meta.at("dim"), 128);
  EXPECT_EQ(meta.at("random_weights"), true);
  EXPECT_THAT(meta.at("note").get<std::string>(), HasSubstr("mean nothing"));
  EXPECT_EQ(meta.at("model").at("fingerprint").get<std::string>().size(), 64u);
  EXPECT_TRUE(meta.at("dataset").at("dataset").get<std::string>().starts_with("manifest:"));
  EXPECT_EQ(meta.at("image_decoding").at("exif_orientation"), "applied");
  EXPECT_EQ(meta.at("queries").at("n_encoded"), 4);
  EXPECT_EQ(meta.at("gallery").at("npy"), "gallery.npy");

  // Second run, float16: every image comes from the cache.
  const auto again = test::run_command(embed_command(dataset, fixture + "/encoder.onnx", out, "--fp16"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto meta2 = nlohmann::json::parse(test::read_text(out + "/embeddings.meta.json"));
  EXPECT_EQ(meta2.at("queries").at("n_cached"), 4);
  EXPECT_EQ(meta2.at("gallery").at("n_cached"), 4);
  EXPECT_EQ(meta2.at("gallery").at("n_encoded"), 0);
  EXPECT_EQ(meta2.at("dtype"), "float16");
  EXPECT_EQ(read_npy_header(out + "/gallery.npy").dtype, NpyDtype::float16);
  // float16 keeps about three decimal digits of these unit-length rows.
  EXPECT_LT(
      max_diff_to_reference(read_embeddings(out + "/gallery.npy"), test::reference_images(fixture, "aerial")),
      1e-3f);
}

TEST(EmbedCommand, AFailingGalleryLeavesTheEarlierOutputsAsTheyWere) {
  // The queries are computed before the gallery: a gallery image that fails must not leave
  // new queries beside the old gallery and meta (retrieve would then mix two runs).
  const std::string fixture = test::encoder_fixture_dir();
  const std::string dir = test::fresh_work_dir("embed-command-failing-gallery");
  const std::string dataset = make_manifest(fixture, dir);
  const std::string out = dir + "/out";
  ASSERT_EQ(test::run_command(embed_command(dataset, fixture + "/encoder.onnx", out)).exit_code, 0);
  const std::string files[] = {"queries.npy", "queries.ids", "gallery.npy", "gallery.ids",
                               "embeddings.meta.json"};
  std::vector<std::string> before;
  for (const auto& f : files) before.push_back(test::read_text(out + "/" + f));

  // Other query images (the ids rotate over them, so the queries change), and a gallery image
  // that does not decode.
  const auto ground = test::reference_images(fixture, "ground");
  std::ofstream queries(dir + "/queries.csv");
  queries << "query_id,path,lat,lon\n";
  for (std::size_t i = 0; i < ground.size(); ++i)
    queries << "g" << i << "," << ground[(i + 1) % ground.size()].path << ",,\n";
  queries.close();
  std::ofstream(dir + "/broken.png") << "not a png";
  std::ofstream(dir + "/gallery.csv", std::ios::app) << "t9," << dir << "/broken.png,,,\n";
  const auto r = test::run_command(embed_command(dataset, fixture + "/encoder.onnx", out, "--no-cache"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("broken.png"));
  for (std::size_t i = 0; i < std::size(files); ++i)
    EXPECT_EQ(test::read_text(out + "/" + files[i]), before[i]) << files[i] << " was replaced";
}

TEST(EmbedCommand, CorruptModelFailsWithTheBackendExitCodeAndNamesTheFile) {
  const std::string fixture = test::encoder_fixture_dir();
  const std::string dir = test::fresh_work_dir("embed-command-corrupt");
  const std::string dataset = make_manifest(fixture, dir);
  const std::string model = dir + "/broken.onnx";
  std::ofstream(model) << "not an ONNX protobuf";
  const auto r = test::run_command(embed_command(dataset, model, dir + "/out"));
  EXPECT_EQ(r.exit_code, 5);  // ErrorKind::backend
  EXPECT_THAT(r.err, HasSubstr(model));
  EXPECT_THAT(r.err, Not(HasSubstr("Schema error")));
  EXPECT_FALSE(fs::exists(dir + "/out/queries.npy"));
}

}  // namespace
}  // namespace georank
