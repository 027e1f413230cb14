// GPU offload (--gpu-layers, --device): on a machine without a GPU, asking for one is a clear
// error naming the devices ggml has; with one, offloaded scoring agrees with the CPU's.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "georank/core/error.hpp"
#include "georank/runtime/runtime.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

bool has_gpu() {
  const auto devices = ggml_devices();
  return std::any_of(devices.begin(), devices.end(),
                     [](const BackendDevice& d) { return d.type == "gpu" || d.type == "igpu"; });
}

LlamaConfig tiny_config() {
  LlamaConfig cfg;
  cfg.model = testing::tiny_vlm().text_model;
  cfg.mmproj = testing::tiny_vlm().mmproj;
  cfg.n_ctx = 1024;
  cfg.threads = 1;
  cfg.flash_attn = 0;
  return cfg;
}

std::string error_of(const LlamaConfig& cfg) {
  try {
    make_llama_backend(cfg);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::backend) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for n_gpu_layers " << cfg.n_gpu_layers << ", device '" << cfg.device << "'";
  return {};
}

TEST(GpuOffload, TheCpuIsAlwaysADevice) {
  const auto devices = ggml_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(devices.front().type, "cpu");
  EXPECT_EQ(devices.front().backend, "CPU");
}

TEST(GpuOffload, AskingForAGpuWithoutOneIsAClearError) {
  if (has_gpu()) GTEST_SKIP() << "this machine has a GPU device";
  LlamaConfig cfg = tiny_config();
  cfg.n_gpu_layers = -1;
  const std::string all = error_of(cfg);
  EXPECT_NE(all.find("no GPU device"), std::string::npos) << all;
  EXPECT_NE(all.find("CPU (cpu"), std::string::npos) << all;  // names what there is
  EXPECT_NE(all.find("--gpu-layers 0"), std::string::npos) << all;
  EXPECT_NE(all.find("GEORANK_GPU=vulkan"), std::string::npos) << all;
  cfg.n_gpu_layers = 0;
  cfg.device = "Vulkan0";
  const std::string named = error_of(cfg);
  EXPECT_NE(named.find("device 'Vulkan0' not found"), std::string::npos) << named;
  // CPU only still works, whatever backends are installed.
  cfg.device.clear();
  EXPECT_NO_THROW(make_llama_backend(cfg));
}

TEST(GpuOffload, OffloadedScoresAgreeWithTheCpu) {
  if (!has_gpu()) GTEST_SKIP() << "no GPU device on this machine";
  VlmRequest req;
  req.images = {testing::noise_image(64, 48, 1), testing::noise_image(40, 40, 2)};
  req.raw_prompt =
      std::string("Image A: ") + kMediaMarker + "\nImage B: " + kMediaMarker + "\nWhich? Answer:";
  req.choices = {"A", "B"};
  LlamaConfig cpu = tiny_config(), gpu = tiny_config();
  gpu.n_gpu_layers = -1;
  const auto a = make_llama_backend(cpu)->run(std::span(&req, 1)).at(0);
  const auto b = make_llama_backend(gpu)->run(std::span(&req, 1)).at(0);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(a.logprobs[i], b.logprobs[i], 2e-2) << i;
}

}  // namespace
}  // namespace georank
