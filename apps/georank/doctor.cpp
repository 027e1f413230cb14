#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_status.hpp"
#include "georank/runtime/runtime.hpp"

namespace georank::cli {
namespace {

nlohmann::json to_json(const RuntimeReport& r) {
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : r.backends)
    backends.push_back({{"name", b.name},
                        {"description", b.description},
                        {"library", b.library},
                        {"backend", b.backend},
                        {"type", b.type},
                        {"memory_total", b.memory_total},
                        {"memory_free", b.memory_free}});
  nlohmann::json libraries = nlohmann::json::array();
  for (const auto& l : r.backend_libraries)
    libraries.push_back({{"file", l.file},
                         {"backend", l.backend.empty() ? nlohmann::json() : nlohmann::json(l.backend)},
                         {"devices", l.devices}});
  return {
      {"ok", r.problems.empty()},
      {"runtime",
       {{"mode", r.mode}, {"prefix", r.prefix.empty() ? nlohmann::json() : nlohmann::json(r.prefix)}}},
      {"llama_cpp",
       {{"version", r.llama_version},
        {"build_number", r.llama_build_number},
        {"build", r.llama_build_number > 0 ? "b" + std::to_string(r.llama_build_number) : ""},
        {"package", r.llama_package},
        {"system_info", r.llama_system_info},
        {"llama_server", r.llama_server}}},
      {"ggml",
       {{"version", r.ggml_version},
        {"backends", backends},
        {"backend_dir", r.backend_dir},
        {"backend_libraries", libraries},
        {"gpu", std::any_of(r.backends.begin(), r.backends.end(),
                            [](const BackendDevice& b) { return b.type == "gpu" || b.type == "igpu"; })}}},
      {"onnxruntime", {{"version", r.onnxruntime_version}, {"providers", r.onnxruntime_providers}}},
      {"faiss", {{"version", r.faiss_version}}},
      {"sqlite", {{"version", r.sqlite_version}}},
      {"cpu", {{"model", r.cpu_model}, {"features", r.cpu_features}, {"threads", r.n_threads}}},
      {"problems", r.problems},
  };
}

void print_text(const RuntimeReport& r) {
  auto line = [](std::string_view k, const std::string& v) { fmt::print("{:<14} {}\n", k, v); };
  line("runtime", r.mode == "prefix" ? "prefix " + r.prefix : "system");
  line("llama.cpp", fmt::format("{} (build b{}{})", r.llama_version, r.llama_build_number,
                                r.llama_package.empty() ? "" : ", Debian " + r.llama_package));
  line("ggml", r.ggml_version);
  for (const auto& l : r.backend_libraries)
    line("  backend",
         fmt::format("{}: {}", l.file,
                     l.backend.empty() ? std::string("not loaded (no usable device or driver)")
                     : l.devices.empty()
                         ? l.backend + ", no device (this machine has none it can use)"
                         : l.backend + ", devices " + fmt::format("{}", fmt::join(l.devices, ", "))));
  for (const auto& b : r.backends) {
    std::string memory;
    if (b.memory_total > 0)
      memory = fmt::format(", {:.1f} of {:.1f} GiB free", static_cast<double>(b.memory_free) / 1073741824.0,
                           static_cast<double>(b.memory_total) / 1073741824.0);
    line("  device", fmt::format("{} ({}) [{}] {}{}", b.name, b.type,
                                 b.library.empty() ? "built-in" : b.library, b.description, memory));
  }
  if (std::none_of(r.backends.begin(), r.backends.end(),
                   [](const BackendDevice& b) { return b.type == "gpu" || b.type == "igpu"; })) {
    std::string installed;
    for (const auto& l : r.backend_libraries)
      if (l.file != "libggml-cpu-*.so" && l.devices.empty())
        installed += (installed.empty() ? "" : ", ") + l.file;
    line("gpu",
         installed.empty()
             ? "none: judges run on the CPU (--gpu-layers 0); a GPU backend: GEORANK_GPU=vulkan scripts/setup"
             : "none: " + installed +
                   " is installed but found no device (no GPU, or no driver for it); judges run on the CPU");
  } else {
    std::string gpus;
    for (const auto& b : r.backends)
      if (b.type == "gpu" || b.type == "igpu") gpus += (gpus.empty() ? "" : ", ") + b.name;
    line("gpu", gpus + ": --gpu-layers -1 offloads the judge, --device NAME picks one");
  }
  line("llama-server", r.llama_server.empty() ? "not found" : r.llama_server);
  line("onnxruntime",
       fmt::format("{} ({})", r.onnxruntime_version, fmt::join(r.onnxruntime_providers, ", ")));
  line("faiss", r.faiss_version);
  line("sqlite", r.sqlite_version);
  line("cpu", fmt::format("{}; {} threads; {}", r.cpu_model, r.n_threads, fmt::join(r.cpu_features, " ")));
  if (r.problems.empty()) fmt::print("status         ok\n");
  for (const auto& p : r.problems) fmt::print("problem        {}\n", p);
}

}  // namespace

void add_doctor(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("doctor", "Check the native runtime: llama.cpp, ggml backends, ONNX Runtime, FAISS");
  static bool as_json = false;
  cmd->add_flag("--json", as_json, "Print one JSON object");
  cmd->callback([] {
    const RuntimeReport r = runtime_report();
    if (as_json) {
      std::cout << to_json(r).dump(2) << "\n";
    } else {
      print_text(r);
    }
    if (!r.problems.empty()) {
      std::cerr << "georank doctor: " << r.problems.front() << "\n";
      throw CLI::RuntimeError(kExitBackend);
    }
  });
}

}  // namespace georank::cli
