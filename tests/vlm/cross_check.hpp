#pragma once
// The comparison of the VLM cross-check tests: the in-process backend's judgments against a
// llama-server's on the same requests.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

/// Generation followed by scoring: the same prompt length, generated text, P(first choice)
/// and log P(second choice) within 1e-3.
inline void expect_same_generations(const std::vector<VlmResponse>& local,
                                    const std::vector<VlmResponse>& served,
                                    const std::vector<VlmRequest>& requests) {
  ASSERT_EQ(local.size(), served.size());
  ASSERT_EQ(local.size(), requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(local[i].n_prompt_tokens, served[i].n_prompt_tokens);
    EXPECT_EQ(local[i].text, served[i].text);
    EXPECT_NEAR(local[i].probs[0], served[i].probs[0], 1e-3);
    EXPECT_NEAR(local[i].logprobs[1], served[i].logprobs[1], 1e-3);
  }
}

/// The largest difference between two runs' answer probabilities.
inline double max_prob_difference(const std::vector<VlmResponse>& a, const std::vector<VlmResponse>& b) {
  double max_diff = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    for (std::size_t k = 0; k < a[i].probs.size() && k < b[i].probs.size(); ++k)
      max_diff = std::max(max_diff, std::abs(a[i].probs[k] - b[i].probs[k]));
  return max_diff;
}

}  // namespace georank::testing
