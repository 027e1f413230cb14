// Encoder throughput: ONNX Runtime (georank::Encoder) against PyTorch on the same ConvNeXt,
// the same input tensors and the same thread count, in one run; reported as images/s and
// their ratio, with the largest difference between the two frameworks' embeddings.
//
//   bench_encoder_throughput [--sizes tiny,sample4geo] [--threads 2] [--n-tiny 64]
//                            [--batch-tiny 16] [--n-sample4geo 3] [--batch-sample4geo 1]
//                            [--work DIR] [--python /usr/bin/python3]
//
// Models come from src/fixtures/make_encoder.py (random weights, generated on first use
// under --work; the Sample4Geo-shaped one is ConvNeXt-Base, ground 384x768, aerial 384x384).
// Random weights: the numbers measure speed only.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/data/image.hpp"
#include "georank/retrieval/encoder.hpp"
#include "georank/runtime/runtime.hpp"

namespace {

namespace fs = std::filesystem;
using georank::View;

struct Args {
  std::vector<std::string> sizes{"tiny", "sample4geo"};
  int threads = 2;
  int n_tiny = 64;
  int batch_tiny = 16;
  int n_sample4geo = 3;
  int batch_sample4geo = 1;
  std::string work = "bench-work";
  std::string python = "/usr/bin/python3";
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  return out;
}

std::string ensure_fixture(const Args& a, const std::string& size) {
  const std::string dir = a.work + "/encoder-" + size;
  if (fs::exists(dir + "/reference.json")) return dir;
  std::fprintf(stderr, "generating the %s encoder with PyTorch in %s ...\n", size.c_str(), dir.c_str());
  run_capture(a.python + " " + quote(std::string(GEORANK_SOURCE_DIR) + "/src/fixtures/make_encoder.py") +
              " --size " + size + " --seed 1 --out " + quote(dir) + " >&2");
  return dir;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void bench_size(const Args& a, const std::string& size) {
  const std::string dir = ensure_fixture(a, size);
  const int n = size == "tiny" ? a.n_tiny : a.n_sample4geo;
  const int batch = size == "tiny" ? a.batch_tiny : a.batch_sample4geo;
  const georank::Encoder encoder(georank::resolve_model_card(dir + "/encoder.onnx"),
                                 {.n_threads = a.threads, .batch_size = batch});
  const auto reference = nlohmann::json::parse(std::ifstream(dir + "/reference.json"));

  struct ViewRun {
    View view;
    std::vector<georank::Image> distinct;
    double ort_ips = 0;
    std::vector<float> ort_distinct;
  };
  std::vector<ViewRun> runs;
  nlohmann::json inputs;
  for (View view : {View::ground, View::aerial}) {
    ViewRun run{view, {}, 0, {}};
    const auto& branch = encoder.card().branch(view);
    for (const auto& e : reference.at(georank::to_string(view))) {
      if (e.at("width") != branch.width) continue;  // the model-size images only
      run.distinct.push_back(georank::load_image(dir + "/" + e.at("image").get<std::string>()));
    }
    // The exact tensors ONNX Runtime sees go to PyTorch too.
    const std::string file = a.work + "/inputs-" + size + "-" + georank::to_string(view) + ".f32";
    std::ofstream out(file, std::ios::binary);
    for (const auto& image : run.distinct) {
      const auto x = encoder.preprocess(view, image);
      out.write(reinterpret_cast<const char*>(x.data()),
                static_cast<std::streamsize>(x.size() * sizeof(float)));
    }
    inputs[georank::to_string(view)] = {{"file", fs::absolute(file).string()},
                                        {"n_distinct", run.distinct.size()},
                                        {"height", branch.height},
                                        {"width", branch.width}};

    std::vector<georank::Image> images;
    for (int i = 0; i < n; ++i)
      images.push_back(run.distinct[static_cast<std::size_t>(i) % run.distinct.size()]);
    run.ort_distinct = encoder.embed(view, run.distinct);
    (void)encoder.embed(view,
                        std::span(images).first(static_cast<std::size_t>(std::min(batch, n))));  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    (void)encoder.embed(view, images);
    run.ort_ips = n / seconds_since(t0);
    runs.push_back(std::move(run));
  }
  const std::string inputs_file = a.work + "/inputs-" + size + ".json";
  std::ofstream(inputs_file) << inputs.dump();

  const auto torch = nlohmann::json::parse(run_capture(
      a.python + " " + quote(std::string(GEORANK_SOURCE_DIR) + "/bench/encoder_throughput.py") +
      " --fixture " + quote(dir) + " --inputs " + quote(inputs_file) + " --n " + std::to_string(n) +
      " --batch " + std::to_string(batch) + " --threads " + std::to_string(a.threads)));

  for (const auto& run : runs) {
    const auto& t = torch.at(georank::to_string(run.view));
    const auto torch_rows = t.at("embeddings").get<std::vector<std::vector<float>>>();
    float worst = 0;
    for (std::size_t r = 0; r < torch_rows.size(); ++r)
      for (std::size_t k = 0; k < encoder.dim(); ++k)
        worst = std::max(worst, std::abs(torch_rows[r][k] - run.ort_distinct[r * encoder.dim() + k]));
    const double torch_ips = t.at("images_per_s").get<double>();
    const auto& branch = encoder.card().branch(run.view);
    std::printf("%-10s %-6s %4dx%-4d %4d %7d %5d %12.2f %12.2f %8.2fx %10.1e\n", size.c_str(),
                georank::to_string(run.view), branch.height, branch.width, n, a.threads, batch, run.ort_ips,
                torch_ips, run.ort_ips / torch_ips, static_cast<double>(worst));
  }
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--sizes")
      a.sizes = split(value);
    else if (key == "--threads")
      a.threads = std::stoi(value);
    else if (key == "--n-tiny")
      a.n_tiny = std::stoi(value);
    else if (key == "--batch-tiny")
      a.batch_tiny = std::stoi(value);
    else if (key == "--n-sample4geo")
      a.n_sample4geo = std::stoi(value);
    else if (key == "--batch-sample4geo")
      a.batch_sample4geo = std::stoi(value);
    else if (key == "--work")
      a.work = value;
    else if (key == "--python")
      a.python = value;
    else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of bench/encoder_throughput.cpp)\n",
                   key.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "every option takes a value\n");
    return 2;
  }
  try {
    georank::init_runtime();
    fs::create_directories(a.work);
    std::printf(
        "encoder throughput, ONNX Runtime vs PyTorch (random weights: speed only; embeddings mean "
        "nothing)\n");
    std::printf("%-10s %-6s %9s %4s %7s %5s %12s %12s %9s %10s\n", "model", "view", "input", "n", "threads",
                "batch", "ORT img/s", "torch img/s", "ORT/torch", "max|diff|");
    for (const auto& size : a.sizes) bench_size(a, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_encoder_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
