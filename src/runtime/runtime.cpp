#include "georank/runtime/runtime.hpp"

#include <dlfcn.h>
#include <faiss/Index.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <link.h>
#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>
#include <sqlite3.h>

#include <onnxruntime_cxx_api.h>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "georank/core/log.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

void llama_log_to_georank(ggml_log_level level, const char* text, void* /*user*/) {
  std::string_view msg = text ? text : "";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.remove_suffix(1);
  if (msg.empty()) return;
  switch (level) {
    case GGML_LOG_LEVEL_ERROR: log_error("llama.cpp: {}", msg); break;
    case GGML_LOG_LEVEL_WARN: log_debug("llama.cpp: {}", msg); break;
    default: log_debug("llama.cpp: {}", msg); break;
  }
}

std::vector<std::string> loaded_libraries(std::string_view needle) {
  std::vector<std::string> out;
  auto cb = [](dl_phdr_info* info, size_t, void* data) -> int {
    auto* pair = static_cast<std::pair<std::string_view, std::vector<std::string>*>*>(data);
    if (info->dlpi_name && std::string_view(info->dlpi_name).find(pair->first) != std::string_view::npos)
      pair->second->emplace_back(info->dlpi_name);
    return 0;
  };
  std::pair<std::string_view, std::vector<std::string>*> data{needle, &out};
  dl_iterate_phdr(cb, &data);
  return out;
}

/// Folder of the shared object that defines `symbol_address`.
std::string library_dir_of(const void* symbol_address) {
  Dl_info info{};
  if (dladdr(symbol_address, &info) == 0 || info.dli_fname == nullptr) return {};
  return fs::path(info.dli_fname).parent_path().string();
}

std::string package_version(const std::string& package) {
  const std::string prefix = runtime_prefix();
  if (!prefix.empty()) {
    std::ifstream in(prefix + "/.georank-prefix");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(package + " ", 0) == 0) return line.substr(package.size() + 1);
    }
    return {};
  }
  std::ifstream status("/var/lib/dpkg/status");
  std::string line;
  bool in_pkg = false;
  while (std::getline(status, line)) {
    if (line.rfind("Package: ", 0) == 0) in_pkg = line.substr(9) == package;
    if (in_pkg && line.rfind("Version: ", 0) == 0) return line.substr(9);
  }
  return {};
}

void cpu_info(RuntimeReport& r) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> wanted{"sse4_2",   "avx",      "avx2",        "fma",         "f16c",     "avx512f",
                               "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "avx_vnni"};
  while (std::getline(in, line)) {
    if (r.cpu_model.empty() && line.rfind("model name", 0) == 0) {
      r.cpu_model = line.substr(line.find(':') + 2);
    }
    if (line.rfind("flags", 0) == 0) {
      std::istringstream flags(line.substr(line.find(':') + 1));
      std::string f;
      while (flags >> f)
        if (wanted.count(f)) r.cpu_features.push_back(f);
      break;
    }
  }
}

}  // namespace

int llama_build_number() {
  // Debian's libllama-common exports the upstream build number as a data symbol.
  const std::string dir = library_dir_of(reinterpret_cast<const void*>(&llama_version));
  for (const char* name : {"libllama-common.so.0", "libllama-common.so"}) {
    const std::string path = dir.empty() ? std::string(name) : dir + "/" + name;
    if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      int number = 0;
      if (auto* sym = static_cast<const int*>(dlsym(handle, "LLAMA_BUILD_NUMBER"))) number = *sym;
      dlclose(handle);
      if (number > 0) return number;
    }
  }
  return 0;
}

std::string runtime_mode() {
  return GEORANK_RUNTIME_MODE;
}
std::string runtime_prefix() {
  return GEORANK_RUNTIME_PREFIX;
}
std::string llama_server_path() {
  return GEORANK_LLAMA_SERVER;
}

void init_runtime() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(llama_log_to_georank, nullptr);
    mtmd_helper_log_set(llama_log_to_georank, nullptr);
    const std::string dir = GEORANK_GGML_BACKEND_DIR;
    if (!dir.empty() && fs::is_directory(dir)) {
      ggml_backend_load_all_from_path(dir.c_str());
    } else {
      ggml_backend_load_all();
    }
    llama_backend_init();
  });
}

std::vector<BackendDevice> ggml_devices() {
  init_runtime();
  std::vector<BackendDevice> out;
  const auto cpu_libs = loaded_libraries("libggml-cpu");
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    BackendDevice d;
    d.name = ggml_backend_dev_name(dev);
    d.description = ggml_backend_dev_description(dev);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    d.backend = reg ? ggml_backend_reg_name(reg) : "";
    switch (ggml_backend_dev_type(dev)) {
      case GGML_BACKEND_DEVICE_TYPE_CPU: d.type = "cpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_GPU: d.type = "gpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_IGPU: d.type = "igpu"; break;
      default: d.type = "accel"; break;
    }
    ggml_backend_dev_memory(dev, &d.memory_free, &d.memory_total);
    if (d.type == "cpu") {
      if (!cpu_libs.empty()) d.library = fs::path(cpu_libs.front()).filename();
    } else {
      std::string lower = d.backend;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const auto libs = loaded_libraries("libggml-" + lower);
      if (!libs.empty()) d.library = fs::path(libs.front()).filename();
    }
    out.push_back(std::move(d));
  }
  return out;
}

RuntimeReport runtime_report() {
  RuntimeReport r;
  r.mode = runtime_mode();
  r.prefix = runtime_prefix();
  if (r.mode == "prefix" && !fs::exists(r.prefix + "/.georank-prefix"))
    r.problems.push_back("runtime prefix " + r.prefix + " is missing or incomplete: run scripts/setup");
  try {
    init_runtime();
  } catch (const std::exception& e) {
    r.problems.push_back(std::string("ggml backends failed to load: ") + e.what());
  }
  r.llama_version = llama_version() ? llama_version() : "";
  r.llama_build_number = llama_build_number();
  r.llama_package = package_version("libllama0");
  r.ggml_version = ggml_version() ? ggml_version() : "";
  r.llama_system_info = llama_print_system_info();
  while (!r.llama_system_info.empty() &&
         (r.llama_system_info.back() == ' ' || r.llama_system_info.back() == '|'))
    r.llama_system_info.pop_back();

  r.backends = ggml_devices();
  if (r.backends.empty()) r.problems.push_back("no ggml backend loaded from '" GEORANK_GGML_BACKEND_DIR "'");
  r.backend_dir = GEORANK_GGML_BACKEND_DIR;
  std::error_code ec;
  std::set<std::string> files;
  if (!r.backend_dir.empty())
    for (const auto& e : fs::directory_iterator(r.backend_dir, ec)) {
      const std::string f = e.path().filename().string();
      if (f.rfind("libggml-", 0) == 0 && f.ends_with(".so"))
        files.insert(f.rfind("libggml-cpu", 0) == 0 ? std::string("libggml-cpu-*.so") : f);
    }
  for (const auto& f : files) {
    BackendLibrary lib{f, "", {}};
    for (const auto& d : r.backends) {
      const bool cpu = f == "libggml-cpu-*.so";
      if ((cpu && d.type == "cpu") || (!cpu && d.library == f)) {
        lib.backend = d.backend;
        lib.devices.push_back(d.name);
      }
    }
    if (lib.backend.empty())  // loaded with no device, or not loadable: ask the registry
      for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
        const std::string name = ggml_backend_reg_name(ggml_backend_reg_get(i));
        std::string lower = name;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (f == "libggml-" + lower + ".so") lib.backend = name;
      }
    r.backend_libraries.push_back(std::move(lib));
  }

  try {
    r.onnxruntime_version = Ort::GetVersionString();
    r.onnxruntime_providers = Ort::GetAvailableProviders();
  } catch (const std::exception& e) {
    r.problems.push_back(std::string("ONNX Runtime is broken: ") + e.what());
  }
  r.faiss_version = std::to_string(FAISS_VERSION_MAJOR) + "." + std::to_string(FAISS_VERSION_MINOR) + "." +
                    std::to_string(FAISS_VERSION_PATCH);
  r.sqlite_version = sqlite3_libversion();
  r.llama_server = llama_server_path();
  if (!r.llama_server.empty() && !fs::exists(r.llama_server)) {
    r.problems.push_back("llama-server not found at " + r.llama_server);
    r.llama_server.clear();
  }
  cpu_info(r);
  r.n_threads = std::thread::hardware_concurrency();
  return r;
}

}  // namespace georank
