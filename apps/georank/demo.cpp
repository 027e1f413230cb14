#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "georank/dataset.hpp"
#include "georank/image.hpp"
#include "georank/llama_backend.hpp"
#include "georank/runtime.hpp"
#include "georank/synthetic_vigor.hpp"
#include "georank/vlm_fixture.hpp"

namespace georank::cli {
namespace {

struct DemoOptions {
  std::string out_dir = "out/demo";
  int n_queries = 12;
  int threads = 0;
};

void run_demo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  fmt::print("georank demo: everything below runs on generated fixtures.\n");
  fmt::print(
      "NOTE: the models have RANDOM WEIGHTS and the images are synthetic: the numbers mean nothing.\n\n");

  const RuntimeReport rt = runtime_report();
  fmt::print("[1/3] runtime: llama.cpp {} (b{}), ggml backend {}, ONNX Runtime {}, FAISS {}\n",
             rt.llama_version, rt.llama_build_number,
             rt.backends.empty() ? "none" : rt.backends.front().library, rt.onnxruntime_version,
             rt.faiss_version);

  fs::create_directories(o.out_dir);
  const VlmFixtureFiles vlm =
      write_vlm_fixture((fs::path(o.out_dir) / "models").string(), 0, VlmFixtureShape::tiny);
  SyntheticVigorConfig data_cfg;
  data_cfg.out_dir = (fs::path(o.out_dir) / "vigor").string();
  data_cfg.n_queries = o.n_queries;
  write_synthetic_vigor(data_cfg);
  fmt::print("[2/3] fixtures: tiny VLM in {}, synthetic VIGOR city in {}\n",
             fs::path(vlm.text_model).parent_path().string(), data_cfg.out_dir);

  DatasetSpec spec = parse_dataset_spec("vigor:" + data_cfg.out_dir);
  spec.cities = {data_cfg.test_city};
  const Dataset ds = load_dataset(spec);
  const Query& q = ds.queries.front();
  const Tile& pos = ds.gallery[ds.tile_index(q.positive.tile_id)];
  const Tile* other = nullptr;
  for (const Tile& t : ds.gallery)
    if (t.id != q.positive.tile_id) {
      bool semi = false;
      for (const auto& s : q.semi_positives) semi = semi || s.tile_id == t.id;
      if (!semi) {
        other = &t;
        break;
      }
    }
  LlamaConfig cfg;
  cfg.model = vlm.text_model;
  cfg.mmproj = vlm.mmproj;
  cfg.threads = o.threads;
  auto backend = make_llama_backend(cfg);
  VlmRequest req;
  req.images = {std::make_shared<Image>(load_image(q.path)), std::make_shared<Image>(load_image(pos.path)),
                std::make_shared<Image>(load_image(other->path))};
  req.messages = {{"user", std::string("The first image is a street-level panorama: ") + kMediaMarker +
                               "\nImage A is an aerial tile: " + kMediaMarker +
                               "\nImage B is an aerial tile: " + kMediaMarker +
                               "\nWhich aerial tile, A or B, shows where the panorama was taken? "
                               "Answer with A or B."}};
  req.choices = {"A", "B"};
  const VlmResponse r = backend->run({&req, 1}).front();
  fmt::print("[3/3] pairwise judgment of query {} (A = positive {}, B = {}):\n", q.id, pos.id, other->id);
  fmt::print(
      "      P(A) = {:.4f}  P(B) = {:.4f}  covered mass {:.3g}  template {}  {} prompt tokens ({} image)\n",
      r.probs[0], r.probs[1], r.covered_mass, r.template_name, r.n_prompt_tokens, r.n_image_tokens);
  fmt::print("      (random weights: this is plumbing, not a judgment)\n");
}

}  // namespace

void add_demo(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("demo", "Run georank on generated fixtures (random-weight models, synthetic data)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--out", o->out_dir, "Output folder")->capture_default_str();
  cmd->add_option("--queries", o->n_queries, "Synthetic test queries")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0: all)")->capture_default_str();
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace georank::cli
