#pragma once
/// Process-wide set-up of the native runtime (ggml backends, llama.cpp logging) and the
/// facts `georank doctor` reports about it.

#include <cstddef>
#include <string>
#include <vector>

namespace georank {

/// Loads ggml's compute backends (CPU variants are separate shared objects chosen per CPU)
/// from the runtime prefix or the system folder, initialises llama.cpp and routes its log
/// to georank's (quiet unless GEORANK_VERBOSE=1). Idempotent and thread-safe; call before
/// loading any model.
void init_runtime();

/// Where the native libraries come from: "prefix" (project-local, made by scripts/setup) or
/// "system".
std::string runtime_mode();
/// The runtime prefix folder, empty in system mode.
std::string runtime_prefix();
/// llama.cpp's upstream build number (b11669 -> 11669), 0 if unknown.
int llama_build_number();
/// Path of Debian's llama-server matching the linked libllama (may not exist).
std::string llama_server_path();

struct BackendDevice {
  std::string name;              ///< e.g. "CPU", "Vulkan0"
  std::string description;       ///< e.g. the CPU model name, the GPU's name
  std::string library;           ///< shared object it came from, e.g. "libggml-cpu-haswell.so"
  std::string backend;           ///< the ggml backend (registry) reporting it, e.g. "CPU", "Vulkan"
  std::string type;              ///< "cpu", "gpu", "igpu" or "accel"
  std::size_t memory_total = 0;  ///< bytes, as the device reports them (0: unknown)
  std::size_t memory_free = 0;
};

/// Every device of every loaded ggml backend (loads the backends first).
std::vector<BackendDevice> ggml_devices();

/// A ggml backend as found: its shared object in the backend folder and the devices it
/// reports once loaded (a GPU backend on a machine without that GPU reports none).
struct BackendLibrary {
  std::string file;                  ///< e.g. "libggml-vulkan.so"
  std::string backend;               ///< registry name once loaded, e.g. "Vulkan"; empty: not loaded
  std::vector<std::string> devices;  ///< device names it reports
};

struct RuntimeReport {
  std::string mode;                               ///< "prefix" or "system"
  std::string prefix;                             ///< empty in system mode
  std::string llama_version;                      ///< llama_version(), e.g. "0.7.0"
  int llama_build_number = 0;                     ///< upstream build number (b11669 -> 11669), 0 if unknown
  std::string llama_package;                      ///< Debian package version, empty if unknown
  std::string ggml_version;                       ///< ggml_version()
  std::vector<BackendDevice> backends;            ///< ggml devices actually loaded
  std::string backend_dir;                        ///< where the backends are loaded from
  std::vector<BackendLibrary> backend_libraries;  ///< every libggml-*.so there, CPU variants as one
  std::string llama_system_info;                  ///< llama_print_system_info()
  std::string onnxruntime_version;                ///< Ort::GetVersionString()
  std::vector<std::string> onnxruntime_providers;
  std::string faiss_version;
  std::string sqlite_version;
  std::string llama_server;               ///< path, empty when not found
  std::vector<std::string> cpu_features;  ///< avx2, avx512f, fma, f16c, ...
  std::string cpu_model;
  unsigned n_threads = 0;             ///< hardware threads
  std::vector<std::string> problems;  ///< one line each; empty when healthy
};

/// Collects the report; never throws for a missing component, records a problem instead.
RuntimeReport runtime_report();

}  // namespace georank
