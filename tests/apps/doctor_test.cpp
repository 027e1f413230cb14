#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/subprocess.hpp"

namespace georank {
namespace {

TEST(Doctor, JsonNamesTheLlamaBuildAndOnnxRuntimeVersion) {
  const auto r = test::run_command(std::string(GEORANK_CLI_PATH) + " doctor --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("ok").get<bool>());
  EXPECT_FALSE(j.at("llama_cpp").at("version").get<std::string>().empty());
  EXPECT_GT(j.at("llama_cpp").at("build_number").get<int>(), 0);
  EXPECT_EQ(j.at("llama_cpp").at("build").get<std::string>().front(), 'b');
  EXPECT_EQ(j.at("onnxruntime").at("version").get<std::string>().substr(0, 2), "1.");
  const auto providers = j.at("onnxruntime").at("providers").get<std::vector<std::string>>();
  EXPECT_NE(std::find(providers.begin(), providers.end(), "CPUExecutionProvider"), providers.end());
  ASSERT_FALSE(j.at("ggml").at("backends").empty());
  EXPECT_EQ(j.at("ggml").at("backends")[0].at("name").get<std::string>().substr(0, 3), "CPU");
  EXPECT_EQ(j.at("ggml").at("backends")[0].at("type"), "cpu");
  // Every backend library found is listed with the devices it reports; the CPU's always has one.
  bool cpu = false;
  for (const auto& lib : j.at("ggml").at("backend_libraries")) {
    if (lib.at("file") == "libggml-cpu-*.so") {
      cpu = true;
      EXPECT_EQ(lib.at("backend"), "CPU");
      EXPECT_FALSE(lib.at("devices").empty());
    }
    // A GPU backend on a machine without its GPU is listed with no device, not a problem.
    if (lib.at("devices").empty()) {
      EXPECT_TRUE(j.at("ok").get<bool>()) << lib.dump();
    }
  }
  EXPECT_TRUE(cpu) << j.at("ggml").dump();
  EXPECT_TRUE(j.at("ggml").at("gpu").is_boolean());
  EXPECT_FALSE(j.at("faiss").at("version").get<std::string>().empty());
  EXPECT_GT(j.at("cpu").at("threads").get<int>(), 0);
}

TEST(Doctor, TextReportSaysOkAndKeepsStderrQuiet) {
  const auto r = test::run_command(std::string(GEORANK_CLI_PATH) + " doctor");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status         ok"), std::string::npos) << r.out;
  // Every backend library and device has a line; without a GPU device, the gpu line says why.
  EXPECT_NE(r.out.find("  backend      libggml-cpu-*.so: CPU, devices CPU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  device       CPU (cpu)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ngpu            "), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("Schema error"), std::string::npos);
  EXPECT_EQ(r.err.find("load_backend"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace georank
