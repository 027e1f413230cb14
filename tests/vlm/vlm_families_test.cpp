// The Qwen2-VL- and Gemma-3-style fixtures judged by the in-process backend, through the prefix
// tree and from scratch, and by Debian's llama-server on the same prompts and images. One
// libmtmd resizes and encodes the images for both, but the prompt layout (each family's image
// boundary tokens), the positions (M-RoPE for Qwen), the attention (Gemma's sliding window and
// non-causal images), batching, KV sharing and answer scoring are each side's own: they must
// agree within 1e-3, as the LLaVA fixture does in backend_cross_check_test.cpp.
//
// qwen2vl: text architecture "qwen2vl", byte-level BPE vocabulary, ChatML template, the
//   "qwen2vl_merger" projector whose image tokens depend on the image size.
// gemma3: text architecture "gemma3" with a 48-token sliding window on every second layer, SPM
//   vocabulary without a space prefix, Gemma's template, the "gemma3" projector: 16 tokens per
//   image whatever its size, attended non-causally.

#include <gtest/gtest.h>

#include <gguf.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/fixtures/vlm_fixture.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"
#include "support/llama_server.hpp"
#include "support/work_dir.hpp"
#include "vlm/cross_check.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using testing::expect_same_generations;
using testing::expect_same_judgments;
using testing::max_prob_difference;
using testing::noise_image;

struct ImageSize {
  int width, height;
  int n_tokens;  ///< image tokens, derived by hand below
};

/// What a cross-check needs to know of a family.
struct Family {
  std::string name;  ///< the --arch value
  VlmFixtureArch arch;
  std::string user_turn, end_turn, assistant_turn;  ///< the template's pieces, for raw prompts
  std::string template_name;                        ///< as the in-process backend reports it
  std::vector<std::vector<ImageSize>> images_of;    ///< the images of a 0..3-image request
  std::vector<ImageSize> varied;                    ///< single images of different sizes
  bool tokens_follow_size;                          ///< different sizes, different token counts
  /// Flash attention on both sides (-1 auto, 0 off). On the CPU it accumulates V in f16; the
  /// gemma3 fixture, whose post-attention norm lifts every attention output to unit scale, then
  /// moves by up to 1e-3 with the batch layout (a prefix tree's several sequences in one batch
  /// against one prompt alone), so its cross-check runs without it.
  int flash_attn;
};

// qwen2vl: the tiny tower has patch 8 and merges 2x2 patches, one token per 16x16 px. mtmd
// resizes an image to multiples of 16 px keeping its aspect ratio (Qwen's smart resize: round
// each side, then scale up when under 8 tokens = 2048 px or down when over 4096 tokens), so:
//   64x32, 48x48, 96x64, 112x32, 208x112 are kept: 4*2, 3*3, 6*4, 7*2, 13*7 tokens;
//   50x30 rounds to 48x32 = 1536 px < 2048, is scaled by sqrt(2048 / 1500) = 1.1685 and rounded
//   up: ceil(58.4 / 16) * 16 = 64 by ceil(35.1 / 16) * 16 = 48, so 4*3 tokens.
const ImageSize k64x32{64, 32, 8}, k48x48{48, 48, 9}, k96x64{96, 64, 24}, k112x32{112, 32, 14},
    k208x112{208, 112, 91}, k50x30{50, 30, 12};

// gemma3: every image is resized to the tower's 128x128 px, 16x16 patches of 8 px pooled 4x4:
// 16 tokens.
ImageSize gemma(int width, int height) {
  return {width, height, 16};
}

const Family& qwen2vl() {
  static const Family f{"qwen2vl",
                        VlmFixtureArch::qwen2vl,
                        "<|im_start|>user\n",
                        "<|im_end|>\n",
                        "<|im_start|>assistant\n",
                        "model:chatml",
                        {{}, {k64x32}, {k48x48, k96x64}, {k112x32, k50x30, k64x32}},
                        {k64x32, k48x48, k96x64, k112x32, k208x112, k50x30},
                        true,
                        -1};
  return f;
}

const Family& gemma3() {
  static const Family f{
      "gemma3",
      VlmFixtureArch::gemma3,
      "<start_of_turn>user\n",
      "<end_of_turn>\n",
      "<start_of_turn>model\n",
      "model:gemma",
      {{}, {gemma(64, 32)}, {gemma(48, 48), gemma(96, 64)}, {gemma(112, 32), gemma(50, 30), gemma(64, 32)}},
      {gemma(64, 32), gemma(48, 48), gemma(300, 20), gemma(128, 128)},
      false,
      0};
  return f;
}

/// text.gguf + mmproj.gguf of a family's tiny fixture (seed 7), shared by every test process.
VlmFixtureFiles fixture_of(const Family& family) {
  const std::string dir =
      test::shared_fixture("vlm-" + family.name + "-7", [&family](const std::string& tmp) {
        write_vlm_fixture(tmp, 7, VlmFixtureShape::tiny, VlmFixtureType::native, family.arch);
      });
  return VlmFixtureFiles{dir + "/text.gguf", dir + "/mmproj.gguf"};
}

/// `n` image markers separated by short captions (b11669's mtmd has a path that merges two
/// adjacent images of the same size into one two-frame video input for Qwen-VL projectors; text
/// between the markers keeps every image on its own).
std::string markers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(i == 0 ? "" : " then ") + "image " + kMediaMarker;
  return s;
}

int image_tokens(const std::vector<ImageSize>& sizes) {
  int n = 0;
  for (const auto& s : sizes) n += s.n_tokens;
  return n;
}

// ---- the files themselves ----------------------------------------------------------------------

struct GgufFile {
  explicit GgufFile(const std::string& path) : ctx(gguf_init_from_file(path.c_str(), {true, nullptr})) {}
  ~GgufFile() { gguf_free(ctx); }
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;
  [[nodiscard]] std::string str(const char* key) const {
    const std::int64_t k = gguf_find_key(ctx, key);
    return k < 0 ? "(missing)" : gguf_get_val_str(ctx, k);
  }
  [[nodiscard]] bool has_tensor(const char* name) const { return gguf_find_tensor(ctx, name) >= 0; }
  gguf_context* ctx;
};

TEST(VlmFamilyFixtures, SameSeedGivesIdenticalFilesOfEachFamily) {
  const std::string dir = test::scratch_root() + "/vlm-family-determinism";
  const auto write = [&dir](VlmFixtureArch arch, const std::string& sub) {
    return write_vlm_fixture(dir + "/" + sub, 11, VlmFixtureShape::tiny, VlmFixtureType::native, arch);
  };
  const auto llava = write(VlmFixtureArch::llava, "llava");
  for (const Family* f : {&qwen2vl(), &gemma3()}) {
    SCOPED_TRACE(f->name);
    const auto a = write(f->arch, f->name + "-a");
    const auto b = write(f->arch, f->name + "-b");
    EXPECT_EQ(read_file_text(a.text_model), read_file_text(b.text_model));
    EXPECT_EQ(read_file_text(a.mmproj), read_file_text(b.mmproj));
    EXPECT_NE(read_file_text(a.text_model), read_file_text(llava.text_model));
    EXPECT_NE(read_file_text(a.mmproj), read_file_text(llava.mmproj));
    EXPECT_EQ(parse_vlm_fixture_arch(f->name), f->arch);
  }
  EXPECT_EQ(parse_vlm_fixture_arch("llava"), VlmFixtureArch::llava);
  EXPECT_THROW(parse_vlm_fixture_arch("qwen3vl"), Error);
}

TEST(VlmFamilyFixtures, Qwen2vlFilesCarryTheFamilysKeysAndTensors) {
  const auto files = fixture_of(qwen2vl());
  const GgufFile text(files.text_model), proj(files.mmproj);
  ASSERT_NE(text.ctx, nullptr);
  ASSERT_NE(proj.ctx, nullptr);
  EXPECT_EQ(text.str("general.architecture"), "qwen2vl");
  EXPECT_EQ(text.str("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(text.str("tokenizer.ggml.pre"), "qwen2");
  // head 64 / 4 = 16 wide: 8 rotary pairs, split 2:3:3 (Qwen2-VL-7B's 16:24:24 for 64 pairs)
  const std::int64_t sections = gguf_find_key(text.ctx, "qwen2vl.rope.dimension_sections");
  ASSERT_GE(sections, 0);
  ASSERT_EQ(gguf_get_arr_n(text.ctx, sections), 4u);
  const auto* s = static_cast<const std::int32_t*>(gguf_get_arr_data(text.ctx, sections));
  EXPECT_EQ(std::vector<std::int32_t>(s, s + 4), (std::vector<std::int32_t>{2, 3, 3, 0}));
  EXPECT_TRUE(text.has_tensor("blk.1.attn_k.bias"));
  EXPECT_EQ(proj.str("clip.projector_type"), "qwen2vl_merger");
  EXPECT_TRUE(proj.has_tensor("v.patch_embd.weight.1"));
  EXPECT_FALSE(proj.has_tensor("v.position_embd.weight"));
}

TEST(VlmFamilyFixtures, Gemma3FilesCarryTheFamilysKeysAndTensors) {
  const auto files = fixture_of(gemma3());
  const GgufFile text(files.text_model), proj(files.mmproj);
  ASSERT_NE(text.ctx, nullptr);
  ASSERT_NE(proj.ctx, nullptr);
  EXPECT_EQ(text.str("general.architecture"), "gemma3");
  EXPECT_EQ(text.str("tokenizer.ggml.model"), "llama");
  const std::int64_t window = gguf_find_key(text.ctx, "gemma3.attention.sliding_window");
  ASSERT_GE(window, 0);
  EXPECT_EQ(gguf_get_val_u32(text.ctx, window), static_cast<std::uint32_t>(kVlmFixtureGemmaSlidingWindow));
  const std::int64_t key_length = gguf_find_key(text.ctx, "gemma3.attention.key_length");
  ASSERT_GE(key_length, 0);
  EXPECT_EQ(gguf_get_val_u32(text.ctx, key_length), 32u);  // wider than 64 / 4
  for (const char* t : {"blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight",
                        "blk.1.post_attention_norm.weight", "blk.1.post_ffw_norm.weight"})
    EXPECT_TRUE(text.has_tensor(t)) << t;
  EXPECT_EQ(proj.str("clip.projector_type"), "gemma3");
  EXPECT_TRUE(proj.has_tensor("mm.input_projection.weight"));
  EXPECT_TRUE(proj.has_tensor("mm.soft_emb_norm.weight"));
  EXPECT_FALSE(proj.has_tensor("mm.0.weight"));
}

// ---- in-process against llama-server ------------------------------------------------------------

class VlmFamilyCrossCheck : public ::testing::TestWithParam<const Family*> {
 protected:
  void SetUp() override {
    files_ = fixture_of(family());
    test::LlamaServerOptions options;
    options.model = files_.text_model;
    options.mmproj = files_.mmproj;
    options.n_ctx = 4096;
    // clip.cpp warms a Qwen-VL tower up on a 46x46-token image; the in-process backend does not
    // warm up either (it allocates on its first image), so both take the same path.
    options.extra_args = {"--no-warmup", "--flash-attn", family().flash_attn == 0 ? "off" : "auto"};
    options.work_dir = test::fresh_work_dir("vlm-family-" + family().name);
    server_ = std::make_unique<test::LlamaServer>(options);
  }

  [[nodiscard]] const Family& family() const { return *GetParam(); }

  /// `from_scratch`: every image encoded and every prompt decoded whole, no sharing.
  [[nodiscard]] std::unique_ptr<VlmBackend> in_process(bool from_scratch = false, int n_ubatch = 512) const {
    LlamaConfig cfg;
    cfg.model = files_.text_model;
    cfg.mmproj = files_.mmproj;
    cfg.n_ctx = 4096;
    cfg.n_seq_max = 16;
    cfg.n_ubatch = n_ubatch;
    cfg.flash_attn = family().flash_attn;
    cfg.threads = 1;
    cfg.cache_images = !from_scratch;
    cfg.share_prefixes = !from_scratch;
    return make_llama_backend(cfg);
  }

  [[nodiscard]] std::unique_ptr<VlmBackend> remote() const {
    RemoteConfig cfg;
    cfg.servers = {server_->url()};
    cfg.top_logprobs = 1000;  // more than either fixture's vocabulary: no choice is floored
    cfg.max_in_flight = 1;
    cfg.max_retries = 0;
    return make_remote_backend(cfg);
  }

  /// The family's images of an n-image request, noise seeded from `seed` on.
  [[nodiscard]] std::vector<std::shared_ptr<const Image>> images(int n, std::uint32_t seed) const {
    std::vector<std::shared_ptr<const Image>> out;
    for (const auto& s : family().images_of[static_cast<std::size_t>(n)])
      out.push_back(noise_image(s.width, s.height, seed++));
    return out;
  }

  [[nodiscard]] std::string raw_turn(const std::string& user) const {
    return family().user_turn + user + family().end_turn + family().assistant_turn;
  }

  [[nodiscard]] std::vector<VlmRequest> requests_with_images(int n_images) const {
    struct Case {
      std::string before, after;
      std::vector<std::string> choices;
    };
    // Raw prompts in the family's own template: the special tokens are parsed on both sides.
    const std::string m = markers(n_images);
    const std::vector<Case> cases = {
        {raw_turn("Look at " + m + " Which tile matches, A or B?"), "", {"A", "B"}},
        {raw_turn("Is this the same place: " + m + "? Answer Yes or No."), "", {"Yes", "No"}},
        {raw_turn("Rate " + m + " from 1 to 5."), "Score:", {"1", "2", "3", "4", "5"}},
        {"Which of the candidates matches? " + m, "\nAnswer: the answer is", {"A", "B", "C", "D"}},
    };
    std::vector<VlmRequest> out;
    std::uint32_t seed = 300 * static_cast<std::uint32_t>(n_images);
    for (const auto& c : cases) {
      VlmRequest r;
      r.images = images(n_images, seed);
      seed += static_cast<std::uint32_t>(n_images);
      r.raw_prompt = c.before + c.after;
      r.choices = c.choices;
      out.push_back(std::move(r));
    }
    return out;
  }

  void check_raw_prompts_with_images(int n_images) const {
    const auto requests = requests_with_images(n_images);
    const auto served = remote()->run(requests);
    for (const bool from_scratch : {false, true}) {
      SCOPED_TRACE(from_scratch ? "from scratch" : "prefix tree");
      const auto local = in_process(from_scratch)->run(requests);
      for (const auto& r : local)
        EXPECT_EQ(r.n_image_tokens, image_tokens(family().images_of[static_cast<std::size_t>(n_images)]));
      expect_same_judgments(local, served, requests);
    }
  }

  VlmFixtureFiles files_;
  std::unique_ptr<test::LlamaServer> server_;
};

TEST_P(VlmFamilyCrossCheck, TextOnlyRawPromptsAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(0);
}

TEST_P(VlmFamilyCrossCheck, RawPromptsWithOneImageAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(1);
}

TEST_P(VlmFamilyCrossCheck, RawPromptsWithTwoImagesOfDifferentSizesAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(2);
}

TEST_P(VlmFamilyCrossCheck, RawPromptsWithThreeImagesOfDifferentSizesAgreeWithinOneThousandth) {
  check_raw_prompts_with_images(3);
  if (family().arch == VlmFixtureArch::gemma3) {
    // the three-image prompts are longer than the sliding window: its masking took part
    for (const auto& r : in_process()->run(requests_with_images(3)))
      EXPECT_GT(r.n_prompt_tokens, kVlmFixtureGemmaSlidingWindow);
  }
}

TEST_P(VlmFamilyCrossCheck, ImageTokensPerImageAgreeOnBothSides) {
  const auto& sizes = family().varied;
  std::vector<VlmRequest> requests;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    VlmRequest r;
    r.images = {noise_image(sizes[i].width, sizes[i].height, 40u + static_cast<std::uint32_t>(i))};
    r.raw_prompt = raw_turn("Look at " + markers(1) + " Which tile matches, A or B?");
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
  EXPECT_EQ(counts.size(), family().tokens_follow_size ? sizes.size() : 1u);
  expect_same_judgments(local, served, requests);
}

TEST_P(VlmFamilyCrossCheck, ChatPromptsAndPrefillsAgree) {
  // The server renders the fixture's template with its Jinja engine, the in-process backend
  // with llama.cpp's built-in of the same name: both must produce the same tokens.
  std::vector<VlmRequest> requests;
  for (int n = 0; n <= 2; ++n) {
    VlmRequest r;
    r.images = images(n, 70u + static_cast<std::uint32_t>(requests.size()));
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
    for (const auto& r : local) EXPECT_EQ(r.template_name, family().template_name);
    expect_same_judgments(local, served, requests);
  }
}

TEST_P(VlmFamilyCrossCheck, GenerationThenScoringAgrees) {
  std::vector<VlmRequest> requests;
  for (int n = 1; n <= 2; ++n) {
    VlmRequest r;
    r.images = images(n, 90u + static_cast<std::uint32_t>(n));
    r.messages = {{"user", "Look at " + markers(n) + " Which tile, A or B?"}};
    r.choices = {"A", "B"};
    r.generation.max_tokens = 4;
    r.answer_cue = "\nAnswer:";
    requests.push_back(r);
  }
  expect_same_generations(in_process()->run(requests), remote()->run(requests), requests);
}

TEST_P(VlmFamilyCrossCheck, TheComparisonCanFail) {
  // Guards the check itself: the two images swapped give other answers.
  auto requests = requests_with_images(2);
  auto swapped = requests;
  for (auto& r : swapped) std::swap(r.images[0], r.images[1]);
  EXPECT_GT(max_prob_difference(remote()->run(requests), remote()->run(swapped)), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Families, VlmFamilyCrossCheck, ::testing::Values(&qwen2vl(), &gemma3()),
                         [](const ::testing::TestParamInfo<const Family*>& info) {
                           return info.param->name;
                         });

// ---- Gemma 3's non-causal images ----------------------------------------------------------------

TEST(VlmFamilyFixtures, Gemma3ImageLargerThanTheMicroBatchIsAClearError) {
  const auto files = fixture_of(gemma3());
  LlamaConfig cfg;
  cfg.model = files.text_model;
  cfg.mmproj = files.mmproj;
  cfg.n_ctx = 1024;
  cfg.n_ubatch = 8;  // an image is 16 tokens, attended as a whole
  cfg.threads = 1;
  const auto backend = make_llama_backend(cfg);
  VlmRequest r;
  r.images = {noise_image(64, 32, 5)};
  r.raw_prompt =
      "<start_of_turn>user\nLook at " + markers(1) + " A or B?<end_of_turn>\n<start_of_turn>model\n";
  r.choices = {"A", "B"};
  try {
    const std::vector<VlmRequest> one = {r};
    backend->run(one);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("n_ubatch >= 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace georank
