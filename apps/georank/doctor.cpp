#include <fmt/format.h>
#include <fmt/ranges.h>

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
    backends.push_back({{"name", b.name}, {"description", b.description}, {"library", b.library}});
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
      {"ggml", {{"version", r.ggml_version}, {"backends", backends}}},
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
  for (const auto& b : r.backends)
    line("  backend",
         fmt::format("{} [{}] {}", b.name, b.library.empty() ? "built-in" : b.library, b.description));
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
