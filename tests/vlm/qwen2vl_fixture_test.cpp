// The Qwen2-VL-style fixture (text architecture "qwen2vl" with M-RoPE positions, byte-level BPE
// vocabulary, ChatML template; "qwen2vl_merger" projector whose image tokens depend on the image
// size) judged by the in-process backend, through the prefix tree and from scratch, and by
// Debian's llama-server on the same prompts and images: two evaluations of the same files (one
// libmtmd resizes and encodes the images for both, but the prompt layout, M-RoPE positions,
// batching, KV sharing and answer scoring are each side's own) must agree.

#include <gtest/gtest.h>

#include <gguf.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/llama_server.hpp"
#include "support/work_dir.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using testing::noise_image;

/// text.gguf + mmproj.gguf of the tiny qwen2vl fixture (seed 7), shared by every test process.
const VlmFixtureFiles& qwen_vlm() {
  static const VlmFixtureFiles files = [] {
    const std::string dir = test::shared_fixture("vlm-qwen2vl-7", [](const std::string& tmp) {
      write_vlm_fixture(tmp, 7, VlmFixtureShape::tiny, VlmFixtureType::native, VlmFixtureArch::qwen2vl);
    });
    return VlmFixtureFiles{dir + "/text.gguf", dir + "/mmproj.gguf"};
  }();
  return files;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct ImageSize {
  int width, height;
  int n_tokens;  ///< image tokens, derived by hand below
};

// The tiny shape's tower has patch 8 and merges 2x2 patches: one token per 16x16 px. mtmd
// resizes an image to multiples of 16 px keeping its aspect ratio (Qwen's smart resize: round
// each side, then scale up when under 8 tokens = 2048 px or down when over 4096 tokens), so:
//   64x32, 48x48, 96x64, 112x32, 208x112 are kept: 4*2, 3*3, 6*4, 7*2, 13*7 tokens;
//   50x30 rounds to 48x32 = 1536 px < 2048, is scaled by sqrt(2048 / 1500) = 1.1685 and rounded
//   up: ceil(58.4 / 16) * 16 = 64 by ceil(35.1 / 16) * 16 = 48, so 4*3 tokens.
const ImageSize k64x32{64, 32, 8}, k48x48{48, 48, 9}, k96x64{96, 64, 24}, k112x32{112, 32, 14},
    k208x112{208, 112, 91}, k50x30{50, 30, 12};

/// The images of an n-image request: each of its own size (and token count).
std::vector<ImageSize> sizes_for(int n_images) {
  if (n_images == 1) return {k64x32};
  if (n_images == 2) return {k48x48, k96x64};
  if (n_images == 3) return {k112x32, k50x30, k64x32};
  return {};
}

/// `n` image markers separated by short captions (b11669's mtmd has a path that merges two
/// adjacent images of the same size into one two-frame video input for Qwen-VL projectors; text
/// between the markers keeps every image on its own).
std::string markers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(i == 0 ? "" : " then ") + "image " + kMediaMarker;
  return s;
}

std::vector<VlmRequest> requests_with_images(int n_images) {
  struct Case {
    std::string before, after;
    std::vector<std::string> choices;
  };
  // Raw ChatML prompts: the special tokens are parsed on both sides.
  const std::vector<Case> cases = {
      {"<|im_start|>user\nLook at ",
       " Which tile matches, A or B?<|im_end|>\n<|im_start|>assistant\n",
       {"A", "B"}},
      {"<|im_start|>user\nIs this the same place: ",
       "? Answer Yes or No.<|im_end|>\n<|im_start|>assistant\n",
       {"Yes", "No"}},
      {"<|im_start|>user\nRate ",
       " from 1 to 5.<|im_end|>\n<|im_start|>assistant\nScore:",
       {"1", "2", "3", "4", "5"}},
      {"Which of the candidates matches? ", "\nAnswer: the answer is", {"A", "B", "C", "D"}},
  };
  std::vector<VlmRequest> out;
  std::uint32_t seed = 300 * static_cast<std::uint32_t>(n_images);
  for (const auto& c : cases) {
    VlmRequest r;
    for (const auto& s : sizes_for(n_images)) r.images.push_back(noise_image(s.width, s.height, seed++));
    r.raw_prompt = c.before + markers(n_images) + c.after;
    r.choices = c.choices;
    out.push_back(std::move(r));
  }
  return out;
}

int expected_image_tokens(int n_images) {
  int n = 0;
  for (const auto& s : sizes_for(n_images)) n += s.n_tokens;
  return n;
}

void expect_same_judgments(const std::vector<VlmResponse>& local, const std::vector<VlmResponse>& served,
                           const std::vector<VlmRequest>& requests) {
  ASSERT_EQ(local.size(), served.size());
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

// ---- the files themselves ----------------------------------------------------------------------

TEST(Qwen2vlFixture, SameSeedGivesIdenticalFilesOfTheQwenFamily) {
  const std::string dir = test::scratch_root() + "/qwen2vl-fixture-determinism";
  const auto args = [](std::uint64_t seed, VlmFixtureArch arch, const std::string& out) {
    return write_vlm_fixture(out, seed, VlmFixtureShape::tiny, VlmFixtureType::native, arch);
  };
  const auto a = args(11, VlmFixtureArch::qwen2vl, dir + "/a");
  const auto b = args(11, VlmFixtureArch::qwen2vl, dir + "/b");
  const auto llava = args(11, VlmFixtureArch::llava, dir + "/llava");
  EXPECT_EQ(read_all(a.text_model), read_all(b.text_model));
  EXPECT_EQ(read_all(a.mmproj), read_all(b.mmproj));
  EXPECT_NE(read_all(a.text_model), read_all(llava.text_model));
  EXPECT_NE(read_all(a.mmproj), read_all(llava.mmproj));
  EXPECT_EQ(parse_vlm_fixture_arch("qwen2vl"), VlmFixtureArch::qwen2vl);
  EXPECT_EQ(parse_vlm_fixture_arch("llava"), VlmFixtureArch::llava);
  EXPECT_THROW(parse_vlm_fixture_arch("qwen3vl"), Error);

  gguf_init_params params{true, nullptr};
  gguf_context* text = gguf_init_from_file(a.text_model.c_str(), params);
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(gguf_get_val_str(text, gguf_find_key(text, "general.architecture")), "qwen2vl");
  EXPECT_STREQ(gguf_get_val_str(text, gguf_find_key(text, "tokenizer.ggml.model")), "gpt2");
  EXPECT_STREQ(gguf_get_val_str(text, gguf_find_key(text, "tokenizer.ggml.pre")), "qwen2");
  // head 64 / 4 = 16 wide: 8 rotary pairs, split 2:3:3 (Qwen2-VL-7B's 16:24:24 for 64 pairs)
  const std::int64_t sections = gguf_find_key(text, "qwen2vl.rope.dimension_sections");
  ASSERT_GE(sections, 0);
  ASSERT_EQ(gguf_get_arr_n(text, sections), 4u);
  const auto* s = static_cast<const std::int32_t*>(gguf_get_arr_data(text, sections));
  EXPECT_EQ(std::vector<std::int32_t>(s, s + 4), (std::vector<std::int32_t>{2, 3, 3, 0}));
  EXPECT_GE(gguf_find_tensor(text, "blk.1.attn_k.bias"), 0);
  gguf_free(text);
  gguf_context* proj = gguf_init_from_file(a.mmproj.c_str(), params);
  ASSERT_NE(proj, nullptr);
  EXPECT_STREQ(gguf_get_val_str(proj, gguf_find_key(proj, "clip.projector_type")), "qwen2vl_merger");
  EXPECT_GE(gguf_find_tensor(proj, "v.patch_embd.weight.1"), 0);
  EXPECT_LT(gguf_find_tensor(proj, "v.position_embd.weight"), 0);
  gguf_free(proj);
}

// ---- in-process against llama-server ------------------------------------------------------------

class Qwen2vlCrossCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::LlamaServerOptions options;
    options.model = qwen_vlm().text_model;
    options.mmproj = qwen_vlm().mmproj;
    options.n_ctx = 4096;
    // clip.cpp warms a Qwen-VL tower up on a 46x46-token image; the in-process backend does not
    // warm up either (it allocates on its first image), so both take the same path.
    options.extra_args = {"--no-warmup"};
    options.work_dir = test::fresh_work_dir("qwen2vl-cross-check");
    server_ = new test::LlamaServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  /// `from_scratch`: every image encoded and every prompt decoded whole, no sharing.
  static std::unique_ptr<VlmBackend> in_process(bool from_scratch = false) {
    LlamaConfig cfg;
    cfg.model = qwen_vlm().text_model;
    cfg.mmproj = qwen_vlm().mmproj;
    cfg.n_ctx = 4096;
    cfg.n_seq_max = 16;
    cfg.threads = 1;
    cfg.cache_images = !from_scratch;
    cfg.share_prefixes = !from_scratch;
    return make_llama_backend(cfg);
  }

  static std::unique_ptr<VlmBackend> remote() {
    RemoteConfig cfg;
    cfg.servers = {server_->url()};
    cfg.top_logprobs = 1000;  // more than the fixture's vocabulary (415): no choice is floored
    cfg.max_in_flight = 1;
    cfg.max_retries = 0;
    return make_remote_backend(cfg);
  }

  static void check_raw_prompts_with_images(int n_images) {
    const auto requests = requests_with_images(n_images);
    const auto served = remote()->run(requests);
    for (const bool from_scratch : {false, true}) {
      SCOPED_TRACE(from_scratch ? "from scratch" : "prefix tree");
      const auto local = in_process(from_scratch)->run(requests);
      for (const auto& r : local) EXPECT_EQ(r.n_image_tokens, expected_image_tokens(n_images));
      expect_same_judgments(local, served, requests);
    }
  }

  static test::LlamaServer* server_;
};

test::LlamaServer* Qwen2vlCrossCheck::server_ = nullptr;

TEST_F(Qwen2vlCrossCheck, TextOnlyRawPromptsAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(0);
}

TEST_F(Qwen2vlCrossCheck, RawPromptsWithOneImageAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(1);
}

TEST_F(Qwen2vlCrossCheck, RawPromptsWithTwoImagesOfDifferentSizesAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(2);
}

TEST_F(Qwen2vlCrossCheck, RawPromptsWithThreeImagesOfDifferentSizesAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(3);
}

TEST_F(Qwen2vlCrossCheck, ImageTokensFollowTheImageSizeOnBothSides) {
  const std::vector<ImageSize> sizes = {k64x32, k48x48, k96x64, k112x32, k208x112, k50x30};
  std::vector<VlmRequest> requests;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    VlmRequest r;
    r.images = {noise_image(sizes[i].width, sizes[i].height, 40u + static_cast<std::uint32_t>(i))};
    r.raw_prompt = "<|im_start|>user\nLook at " + markers(1) +
                   " Which tile matches, A or B?<|im_end|>\n<|im_start|>assistant\n";
    r.choices = {"A", "B"};
    requests.push_back(std::move(r));
  }
  const auto local = in_process()->run(requests);
  const auto served = remote()->run(requests);
  ASSERT_EQ(local.size(), sizes.size());
  std::set<int> counts;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    SCOPED_TRACE(std::to_string(sizes[i].width) + "x" + std::to_string(sizes[i].height));
    EXPECT_EQ(local[i].n_image_tokens, sizes[i].n_tokens);
    // the same text around each image: the prompts differ by the image tokens only
    EXPECT_EQ(local[i].n_prompt_tokens - local[i].n_image_tokens,
              local[0].n_prompt_tokens - local[0].n_image_tokens);
    counts.insert(local[i].n_image_tokens);
  }
  EXPECT_EQ(counts.size(), sizes.size());  // six sizes, six token counts
  expect_same_judgments(local, served, requests);
}

TEST_F(Qwen2vlCrossCheck, ChatPromptsAndPrefillsAgree) {
  // The server renders the fixture's ChatML template with its Jinja engine, the in-process
  // backend with llama.cpp's built-in chatml: both must produce the same tokens.
  std::vector<VlmRequest> requests;
  for (int n = 0; n <= 2; ++n) {
    VlmRequest r;
    for (const auto& s : sizes_for(n))
      r.images.push_back(noise_image(s.width, s.height, 70u + static_cast<std::uint32_t>(requests.size())));
    r.messages = {{"system", "You compare places."},
                  {"user", "Look at " + markers(n) + " Which tile, A or B?"}};
    r.choices = {"A", "B"};
    requests.push_back(r);
    r.assistant_prefill = "The answer is";
    requests.push_back(r);
  }
  const auto served = remote()->run(requests);
  for (const bool from_scratch : {false, true}) {
    SCOPED_TRACE(from_scratch ? "from scratch" : "prefix tree");
    const auto local = in_process(from_scratch)->run(requests);
    for (const auto& r : local) EXPECT_EQ(r.template_name, "model:chatml");
    expect_same_judgments(local, served, requests);
  }
}

TEST_F(Qwen2vlCrossCheck, GenerationThenScoringAgrees) {
  std::vector<VlmRequest> requests;
  for (int n = 1; n <= 2; ++n) {
    VlmRequest r;
    for (const auto& s : sizes_for(n))
      r.images.push_back(noise_image(s.width, s.height, 90u + static_cast<std::uint32_t>(n)));
    r.messages = {{"user", "Look at " + markers(n) + " Which tile, A or B?"}};
    r.choices = {"A", "B"};
    r.generation.max_tokens = 4;
    r.answer_cue = "\nAnswer:";
    requests.push_back(r);
  }
  const auto local = in_process()->run(requests);
  const auto served = remote()->run(requests);
  ASSERT_EQ(local.size(), served.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(local[i].n_prompt_tokens, served[i].n_prompt_tokens);
    EXPECT_EQ(local[i].text, served[i].text);
    EXPECT_NEAR(local[i].probs[0], served[i].probs[0], 1e-3);
    EXPECT_NEAR(local[i].logprobs[1], served[i].logprobs[1], 1e-3);
  }
}

TEST_F(Qwen2vlCrossCheck, TheComparisonCanFail) {
  // Guards the check itself: the two images (of different sizes) swapped give other answers.
  auto requests = requests_with_images(2);
  auto swapped = requests;
  for (auto& r : swapped) std::swap(r.images[0], r.images[1]);
  const auto a = remote()->run(requests);
  const auto b = remote()->run(swapped);
  double max_diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].probs.size(); ++k)
      max_diff = std::max(max_diff, std::abs(a[i].probs[k] - b[i].probs[k]));
  EXPECT_GT(max_diff, 1e-3);
}

}  // namespace
}  // namespace georank
