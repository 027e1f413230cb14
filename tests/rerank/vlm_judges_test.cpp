// VLM judges on the tiny in-process model: a context too small for the request is a clear
// error, not the "answer set cannot be scored" fallback.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "georank/core/error.hpp"
#include "georank/rerank/judge.hpp"
#include "georank/rerank/prompt.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "support/counting_backend.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using testing::noise_image;
using testing::tiny_vlm;

using test::CountingBackend;

TEST(VlmPointJudge, AContextTooSmallForTheRequestIsAnErrorNamingCtxSizeNotAFallback) {
  LlamaConfig cfg;
  cfg.model = tiny_vlm().text_model;
  cfg.mmproj = tiny_vlm().mmproj;
  cfg.n_ctx = 256;  // two images and the score prompt need more
  cfg.n_seq_max = 4;
  cfg.threads = 1;
  auto llama = make_llama_backend(cfg);
  JudgeImages images;
  images.query = noise_image(64, 32, 1);
  images.candidates = {noise_image(32, 32, 2)};
  for (const char* name : {"pointwise-score", "pointwise-likert"}) {
    SCOPED_TRACE(name);
    const PromptTemplate prompt = builtin_prompt_template(name);
    CountingBackend counted(*llama);
    auto judge = make_vlm_point_judge(counted, prompt, images, ScoreMode::expected);
    const int candidate = 0;
    try {
      (void)judge->judge(std::span(&candidate, 1));
      ADD_FAILURE() << "a request larger than the context was judged";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_THAT(e.what(), ::testing::HasSubstr("--ctx-size"));
      EXPECT_THAT(e.what(), ::testing::HasSubstr("KV cells"));
    }
    EXPECT_EQ(counted.n_runs, 1) << "the judge retried in text mode";
  }
}

}  // namespace
}  // namespace georank
