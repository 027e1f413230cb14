// `georank demo`: the whole pipeline on generated fixtures with the embedded defaults
// (in-process llama.cpp, ONNX Runtime, FAISS, SQLite).

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <string>

#include "commands.hpp"
#include "common_flags.hpp"
#include "georank/core/error.hpp"
#include "georank/fixtures/synthetic_vigor.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "georank/runtime/runtime.hpp"
#include "report.hpp"
#include "run.hpp"

namespace georank::cli {
namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string out_dir = "out/demo";
  int n_queries = 16;
  int threads = 1;
};

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

// The tiny ONNX encoder comes from the project's PyTorch fixture script.
std::string make_encoder(const std::string& dir) {
  const fs::path onnx = fs::path(dir) / "encoder.onnx";
  if (fs::exists(onnx)) return onnx.string();
  const std::string script = std::string(GEORANK_SOURCE_DIR) + "/src/fixtures/make_encoder.py";
  const std::string cmd = "/usr/bin/python3 " + quote(script) + " --out " + quote(dir) + " >/dev/null";
  if (std::system(cmd.c_str()) != 0 || !fs::exists(onnx))
    throw Error(ErrorKind::backend,
                "demo: " + script + " failed (it needs Debian's python3-torch; run scripts/setup)");
  return onnx.string();
}

void run_demo(const DemoOptions& o) {
  fmt::print("georank demo: the whole pipeline on generated fixtures.\n");
  fmt::print(
      "NOTE: the models have RANDOM WEIGHTS and the images are synthetic: the numbers mean nothing.\n\n");
  const RuntimeReport rt = runtime_report();
  fmt::print("runtime: llama.cpp {} (b{}), ggml {}, ONNX Runtime {}, FAISS {}, SQLite {}\n", rt.llama_version,
             rt.llama_build_number, rt.backends.empty() ? "none" : rt.backends.front().library,
             rt.onnxruntime_version, rt.faiss_version, rt.sqlite_version);

  const fs::path out = fs::absolute(o.out_dir);
  fs::create_directories(out / "run");
  const VlmFixtureFiles vlm = write_vlm_fixture((out / "models").string(), 0, VlmFixtureShape::tiny);
  const std::string encoder = make_encoder((out / "models").string());
  SyntheticVigorConfig data;
  data.out_dir = (out / "vigor").string();
  data.n_queries = o.n_queries;
  write_synthetic_vigor(data);
  fmt::print("fixtures: tiny VLM + tiny ConvNeXt encoder in {}, synthetic VIGOR city {} in {}\n\n",
             (out / "models").string(), data.test_city, data.out_dir);

  // A fresh judgment cache each time so the demo shows real VLM work.
  fs::remove(out / "run" / "judgments.sqlite");
  const std::string toml = (out / "run.toml").string();
  {
    std::ofstream f(toml);
    f << "# georank demo run (random-weight models, synthetic data)\n"
      << "out = " << std::quoted((out / "run").string()) << "\n"
      << "random_weights = true\n\n"
      << "[dataset]\ndataset = " << std::quoted("vigor:" + data.out_dir)
      << "\ncities = " << std::quoted(data.test_city) << "\n\n"
      << "[embed]\nmodel = " << std::quoted(encoder) << "\nthreads = " << o.threads << "\n\n"
      << "[retrieve]\nk = 10\n\n"
      << "[rerank]\nmodel = " << std::quoted(vlm.text_model) << "\nmmproj = " << std::quoted(vlm.mmproj)
      << "\nthreads = " << o.threads
      << "\ncache = " << std::quoted((out / "run" / "judgments.sqlite").string())
      << "\nk = 5\nno-progress = true\n\n"
      << "[strategies.pairwise-bt-both]\nstrategy = \"pairwise\"\naggregate = \"all-pairs-bt\"\norders = "
         "\"both\"\n\n"
      << "[strategies.pairwise-knockout]\nstrategy = \"pairwise\"\naggregate = \"knockout\"\norders = "
         "\"single\"\n\n"
      << "[strategies.pointwise-yesno]\nstrategy = \"pointwise-yesno\"\n\n"
      << "[strategies.pointwise-likert]\nstrategy = \"pointwise-likert\"\n\n"
      << "[strategies.listwise]\nstrategy = \"listwise\"\n";
  }
  RunOptions run;
  run.report = false;  // the demo writes its report beside the run, in out/demo/report
  run_config_file(toml, run);
  ReportConfig report;
  report.out = (out / "report").string();
  fmt::print("\n");
  report_run((out / "run").string(), report);
  fmt::print(
      "\nWith real models: export Sample4Geo with scripts/export_sample4geo.py, take a LLaVA or Qwen-VL GGUF "
      "and\n"
      "its mmproj (as for llama.cpp), point [dataset] at VIGOR (dataset = \"vigor:/data/VIGOR\", protocol =\n"
      "\"cross-area\", subset = 500) and [embed]/[rerank] at the models in a copy of {}, then:\n"
      "    georank run --config my-run.toml\n",
      toml);
}

}  // namespace

void add_demo(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("demo", "Run the whole pipeline on generated fixtures (random-weight models)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--out", o->out_dir, "Output folder")->capture_default_str();
  cmd->add_option("--queries", o->n_queries, "Synthetic test queries")->capture_default_str();
  add_threads_option(*cmd, o->threads, "CPU threads for the encoder and the VLM");
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace georank::cli
