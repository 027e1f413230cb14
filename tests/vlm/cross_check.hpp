#pragma once
// The comparison of the VLM cross-check tests: the in-process backend's judgments against a
// llama-server's on the same requests.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "georank/vlm/vlm.hpp"

namespace georank::testing {

/// Same prompt length, and every choice's probability and log-probability within 1e-3; no
/// choice may be missing from the server's top log-probabilities.
inline void expect_same_judgments(const std::vector<VlmResponse>& local,
                                  const std::vector<VlmResponse>& served,
                                  const std::vector<VlmRequest>& requests) {
  ASSERT_EQ(local.size(), served.size());
  ASSERT_EQ(local.size(), requests.size());
  for (std::size_t i = 0; i < local.size(); ++i) {
    SCOPED_TRACE(requests[i].raw_prompt ? *requests[i].raw_prompt : "chat request " + std::to_string(i));
    EXPECT_EQ(local[i].n_prompt_tokens, served[i].n_prompt_tokens);
    ASSERT_EQ(local[i].probs.size(), served[i].probs.size());
    for (std::size_t k = 0; k < local[i].probs.size(); ++k) {
      EXPECT_NEAR(local[i].probs[k], served[i].probs[k], 1e-3) << "choice " << requests[i].choices[k];
      EXPECT_NEAR(local[i].logprobs[k], served[i].logprobs[k], 1e-3) << "choice " << requests[i].choices[k];
      EXPECT_FALSE(served[i].choice_not_in_top[k]);
    }
  }
}

}  // namespace georank::testing
