// The judge identity keys the judgment cache: changing any one setting that can change an
// answer's numbers makes a rerun on the same cache compute fresh judgments, and a rerun with
// identical settings is answered entirely from the cache.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "georank/core/sha256.hpp"
#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/judgment_cache.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/counting_backend.hpp"
#include "support/fake_openai_server.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

// Judgments `backend` computes for `batch` through the cache file `db`.
int fresh_judgments(VlmBackend& backend, const std::string& db, const std::vector<VlmRequest>& batch) {
  test::CountingBackend counted(backend);
  JudgmentCache cache(db);
  CachingBackend cached(counted, cache, "prompt-sha");
  cached.run(batch);
  return counted.n_requests;
}

std::vector<VlmRequest> chat_batch() {
  std::vector<VlmRequest> batch;
  for (std::uint32_t seed : {1u, 2u}) {
    VlmRequest r;
    r.images = {testing::noise_image(32, 32, seed), testing::noise_image(32, 32, seed + 10)};
    r.messages = {
        {"user", std::string("Ground ") + kMediaMarker + " tile " + kMediaMarker + " same? Yes or No"}};
    r.choices = {"Yes", "No"};
    batch.push_back(r);
  }
  return batch;
}

// A copy of `path` with one byte in the middle changed (a weight, for the fixture files).
std::string altered_copy(const std::string& path, const std::string& to) {
  fs::copy_file(path, to, fs::copy_options::overwrite_existing);
  std::fstream f(to, std::ios::in | std::ios::out | std::ios::binary);
  const auto middle = static_cast<std::streamoff>(fs::file_size(to) / 2);
  f.seekg(middle);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(middle);
  f.write(&c, 1);
  return to;
}

TEST(JudgeIdentity, EveryInProcessSettingThatChangesNumbersGetsFreshJudgments) {
  const std::string dir = test::fresh_work_dir("judge-identity-llama");
  const std::string db = dir + "/cache.sqlite";
  const auto batch = chat_batch();
  LlamaConfig base;
  base.model = testing::tiny_vlm().text_model;
  base.mmproj = testing::tiny_vlm().mmproj;
  base.n_ctx = 2048;
  base.threads = 1;
  base.flash_attn = 0;
  {
    auto backend = make_llama_backend(base);
    ASSERT_EQ(fresh_judgments(*backend, db, batch), 2);
  }
  {
    auto backend = make_llama_backend(base);  // identical settings: all from the cache
    EXPECT_EQ(fresh_judgments(*backend, db, batch), 0);
  }
  const std::string altered_model = altered_copy(base.model, dir + "/text-altered.gguf");
  const std::string altered_mmproj = altered_copy(base.mmproj, dir + "/mmproj-altered.gguf");
  const std::vector<std::pair<std::string, std::function<void(LlamaConfig&)>>> variants = {
      {"text model file", [&](LlamaConfig& c) { c.model = altered_model; }},
      {"mmproj file", [&](LlamaConfig& c) { c.mmproj = altered_mmproj; }},
      {"chat template", [](LlamaConfig& c) { c.chat_template = "chatml"; }},
      {"flash attention", [](LlamaConfig& c) { c.flash_attn = 1; }},
      {"context size", [](LlamaConfig& c) { c.n_ctx = 4096; }},
      {"batch size", [](LlamaConfig& c) { c.n_batch = 1024; }},
      {"micro-batch size", [](LlamaConfig& c) { c.n_ubatch = 256; }},
  };
  for (const auto& [what, change] : variants) {
    LlamaConfig config = base;
    change(config);
    auto backend = make_llama_backend(config);
    EXPECT_EQ(fresh_judgments(*backend, db, batch), 2) << "changing only the " << what;
    EXPECT_EQ(fresh_judgments(*backend, db, batch), 0) << "rerun after changing the " << what;
  }
  // Settings that leave the numbers alone keep the identity (threads, evaluation strategy).
  LlamaConfig same = base;
  same.threads = 2;
  same.share_prefixes = false;
  auto backend = make_llama_backend(same);
  EXPECT_EQ(fresh_judgments(*backend, db, batch), 0);
  const JudgeIdentity id = backend->identity();
  EXPECT_EQ(id.model_sha256, sha256_file(base.model));  // the whole file, not a sample
  EXPECT_EQ(id.mmproj_sha256, sha256_file(base.mmproj));
  EXPECT_EQ(id.chat_template, "model:vicuna");
  EXPECT_THAT(id.runtime, ::testing::StartsWith("llama.cpp "));
}

// A raw-prompt request (llama-server's /completion) the fake server answers.
std::vector<VlmRequest> raw_batch() {
  VlmRequest r;
  r.images = {testing::noise_image(8, 8, 1)};
  r.raw_prompt = std::string("USER: ") + kMediaMarker + " A or B? ASSISTANT:";
  r.choices = {"A", "B"};
  return {r};
}

TEST(JudgeIdentity, EveryRemoteSettingThatChangesNumbersGetsFreshJudgments) {
  const std::string db = test::fresh_work_dir("judge-identity-remote") + "/cache.sqlite";
  const auto answer = [](const httplib::Request&, httplib::Response& res, int) {
    res.set_content(test::completion_answer({{"A", std::log(0.6), 'A'}, {"B", std::log(0.3), 'B'}}).dump(),
                    "application/json");
  };
  const test::FakeServerIdentity base_server{"fake-model", "b100", "{{ messages }}", ""};
  RemoteConfig base;
  base.max_retries = 0;
  const auto judgments = [&](const test::FakeServerIdentity& who,
                             const std::function<void(RemoteConfig&)>& change) {
    test::FakeOpenAiServer server(answer, /*as_llama_server=*/true, who);
    RemoteConfig config = base;
    config.servers = {server.url()};  // a new port each time: the address is not the judge
    change(config);
    auto backend = make_remote_backend(config);
    return fresh_judgments(*backend, db, raw_batch());
  };
  const auto unchanged = [](RemoteConfig&) {};
  ASSERT_EQ(judgments(base_server, unchanged), 1);
  EXPECT_EQ(judgments(base_server, unchanged), 0);

  auto other_model = base_server;
  other_model.model = "other-model";
  EXPECT_EQ(judgments(other_model, unchanged), 1) << "server model id";
  auto other_build = base_server;
  other_build.build = "b101";
  EXPECT_EQ(judgments(other_build, unchanged), 1) << "server build";
  auto other_template = base_server;
  other_template.chat_template = "{{ other }}";
  EXPECT_EQ(judgments(other_template, unchanged), 1) << "server chat template";
  EXPECT_EQ(judgments(base_server, [](RemoteConfig& c) { c.dialect = RemoteDialect::openai; }), 1)
      << "dialect";
  EXPECT_EQ(judgments(base_server, [](RemoteConfig& c) { c.top_logprobs = 5; }), 1) << "top_logprobs";
  EXPECT_EQ(judgments(base_server, [](RemoteConfig& c) { c.max_in_flight = 2; }), 0) << "concurrency";
}

TEST(JudgeIdentity, AServerThatOnlyNamesItsVersionIsKnownByIt) {
  test::FakeOpenAiServer server([](const httplib::Request&, httplib::Response&, int) {}, false,
                                {"served", "", "", "0.9.1"});
  RemoteConfig config;
  config.servers = {server.url()};
  const JudgeIdentity id = make_remote_backend(config)->identity();
  EXPECT_EQ(id.server_model, "served");
  EXPECT_EQ(id.server_build, "version 0.9.1");
  EXPECT_EQ(id.remote_dialect, "openai");
}

TEST(JudgeIdentity, SimulatedJudgesDifferByTheirParameters) {
  const std::unordered_map<std::string, double> quality;
  SimulatedJudgeParams p;
  const SimulatedBackend a(quality, p);
  p.position_bias = 0.3;
  const SimulatedBackend b(quality, p);
  EXPECT_NE(a.identity().digest(), b.identity().digest());
  EXPECT_EQ(a.identity().digest(), SimulatedBackend(quality, SimulatedJudgeParams{}).identity().digest());
}

}  // namespace
}  // namespace georank
