#include <gtest/gtest.h>
#include <llama-cpp.h>
#include <mtmd-helper.h>
#include <mtmd.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "georank/core/error.hpp"
#include "georank/vlm/image_layout.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "vlm/tiny_vlm.hpp"

namespace georank {
namespace {

using testing::noise_image;
using testing::tiny_vlm;

LlamaConfig tiny_config() {
  LlamaConfig cfg;
  cfg.model = tiny_vlm().text_model;
  cfg.mmproj = tiny_vlm().mmproj;
  cfg.n_ctx = 2048;
  cfg.n_seq_max = 16;
  cfg.threads = 1;
  return cfg;
}

// An independent evaluation of one answer text: the whole prompt through
// mtmd_helper_eval_chunks in a fresh sequence, then the answer's tokens one at a time.
class Reference {
 public:
  Reference() {
    llama_model_params mp = llama_model_default_params();
    model_.reset(llama_model_load_from_file(tiny_vlm().text_model.c_str(), mp));
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 1024;
    cp.n_batch = 512;
    cp.n_threads = cp.n_threads_batch = 1;
    ctx_.reset(llama_init_from_model(model_.get(), cp));
    mtmd_context_params mp2 = mtmd_context_params_default();
    mp2.use_gpu = false;
    mp2.print_timings = false;
    mp2.n_threads = 1;
    mp2.warmup = false;
    mtmd_.reset(mtmd_init_from_file(tiny_vlm().mmproj.c_str(), model_.get(), mp2));
  }

  // log P(answer | prompt) where the answer's tokens are those of (prompt + answer) beyond the
  // prompt's own tokens.
  double logprob(const std::string& prompt, const std::vector<std::shared_ptr<const Image>>& images,
                 const std::string& answer) {
    const auto base = tokens(prompt, images);
    const auto full = tokens(prompt + answer, images);
    EXPECT_GT(full.size(), base.size());
    EXPECT_TRUE(std::equal(base.begin(), base.end(), full.begin()));
    llama_memory_clear(llama_get_memory(ctx_.get()), true);
    mtmd::input_chunks chunks(mtmd_input_chunks_init());
    tokenize(prompt, images, chunks.ptr.get());
    llama_pos n_past = 0;
    EXPECT_EQ(mtmd_helper_eval_chunks(mtmd_.get(), ctx_.get(), chunks.ptr.get(), 0, 0, 512, true, &n_past),
              0);
    double lp = 0;
    for (std::size_t j = base.size(); j < full.size(); ++j) {
      lp += log_softmax(llama_get_logits_ith(ctx_.get(), -1), full[j]);
      llama_token t = full[j];
      llama_batch b = llama_batch_get_one(&t, 1);
      if (j + 1 < full.size()) {
        std::vector<llama_pos> pos = {n_past++};
        b.pos = pos.data();
        EXPECT_EQ(llama_decode(ctx_.get(), b), 0);
      }
    }
    return lp;
  }

 private:
  void tokenize(const std::string& prompt, const std::vector<std::shared_ptr<const Image>>& images,
                mtmd_input_chunks* out) {
    std::vector<mtmd::bitmap> bitmaps;
    std::vector<const mtmd_bitmap*> ptrs;
    for (const auto& img : images) {
      bitmaps.emplace_back(static_cast<uint32_t>(img->width), static_cast<uint32_t>(img->height),
                           img->rgb.data());
      ptrs.push_back(bitmaps.back().ptr.get());
    }
    const mtmd_input_text text{prompt.c_str(), prompt.size(), true, true};
    ASSERT_EQ(mtmd_tokenize(mtmd_.get(), out, &text, ptrs.data(), ptrs.size()), 0);
  }
  std::vector<llama_token> tokens(const std::string& prompt,
                                  const std::vector<std::shared_ptr<const Image>>& images) {
    mtmd::input_chunks chunks(mtmd_input_chunks_init());
    tokenize(prompt, images, chunks.ptr.get());
    std::vector<llama_token> out;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const mtmd_input_chunk* c = chunks[i];
      if (mtmd_input_chunk_get_type(c) != MTMD_INPUT_CHUNK_TYPE_TEXT) {
        out.push_back(-1);  // image placeholder
        continue;
      }
      std::size_t n = 0;
      const llama_token* t = mtmd_input_chunk_get_tokens_text(c, &n);
      out.insert(out.end(), t, t + n);
    }
    return out;
  }
  double log_softmax(const float* logits, llama_token t) {
    const int n = llama_vocab_n_tokens(llama_model_get_vocab(model_.get()));
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
    for (int i = 0; i < n; ++i) sum += std::exp(logits[i] - mx);
    return logits[t] - mx - std::log(sum);
  }
  llama_model_ptr model_;
  llama_context_ptr ctx_;
  mtmd::context_ptr mtmd_;
};

double log_add(double a, double b) {
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

VlmRequest raw_request(std::vector<std::shared_ptr<const Image>> images, const std::string& prompt,
                       std::vector<std::string> choices) {
  VlmRequest r;
  r.images = std::move(images);
  r.raw_prompt = prompt;
  r.choices = std::move(choices);
  return r;
}

const std::string M = kMediaMarker;

// A mixed batch: two queries, 1-3 images, shared and different prompts, several answer sets.
std::vector<VlmRequest> mixed_batch() {
  const auto q1 = noise_image(64, 32, 1), q2 = noise_image(48, 24, 2);
  const auto c1 = noise_image(32, 32, 3), c2 = noise_image(32, 32, 4), c3 = noise_image(40, 40, 5);
  const std::string pair = "Ground: " + M + "\nFirst: " + M + "\nSecond: " + M + "\nWhich matches? Answer:";
  std::vector<VlmRequest> batch = {
      raw_request({q1, c1, c2}, pair, {"A", "B"}),
      raw_request({q1, c2, c1}, pair, {"A", "B"}),
      raw_request({q1, c1, c3}, pair, {"A", "B"}),
      raw_request({q1, c3, c1}, pair, {"A", "B"}),
      raw_request({q2, c1, c2}, pair, {"A", "B"}),
      raw_request({q1}, "Ground: " + M + "\nIs it a city? Answer:", {"Yes", "No"}),
      raw_request({q1, c2}, "Ground: " + M + "\nTile: " + M + "\nScore 1-10:", {"1", "5", "10"}),
  };
  VlmRequest chat;
  chat.images = {q2, c3};
  chat.messages = {{"user", "Ground: " + M + "\nTile: " + M + "\nSame place?"}};
  chat.choices = {"Yes", "No"};
  batch.push_back(chat);
  return batch;
}

TEST(LlamaBackend, EncodeOnceAndPrefixTreeGiveTheSameLogProbabilitiesAsFromScratch) {
  const auto batch = mixed_batch();
  LlamaConfig scratch_cfg = tiny_config();
  // CPU flash attention's precision depends on the batch shape (see LlamaConfig::flash_attn)
  scratch_cfg.flash_attn = 0;
  scratch_cfg.cache_images = false;
  scratch_cfg.share_prefixes = false;
  LlamaConfig encode_once_cfg = scratch_cfg;
  encode_once_cfg.cache_images = true;
  LlamaConfig tree_cfg = tiny_config();
  tree_cfg.flash_attn = 0;
  const auto scratch = make_llama_backend(scratch_cfg)->run(batch);
  const auto encode_once = make_llama_backend(encode_once_cfg)->run(batch);
  const auto tree = make_llama_backend(tree_cfg)->run(batch);
  int decoded_scratch = 0, decoded_tree = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(scratch[i].logprobs.size(), batch[i].choices.size());
    for (std::size_t c = 0; c < batch[i].choices.size(); ++c) {
      EXPECT_NEAR(encode_once[i].logprobs[c], scratch[i].logprobs[c], 1e-4)
          << "request " << i << " choice " << c;
      EXPECT_NEAR(tree[i].logprobs[c], scratch[i].logprobs[c], 1e-4) << "request " << i << " choice " << c;
    }
    EXPECT_EQ(tree[i].n_prompt_tokens, scratch[i].n_prompt_tokens);
    decoded_scratch += scratch[i].n_decoded_tokens;
    decoded_tree += tree[i].n_decoded_tokens;
  }
  // scratch decodes every prompt whole; the tree decodes the query image and shared text once
  int prompt_total = 0;
  for (const auto& r : scratch) prompt_total += r.n_prompt_tokens;
  EXPECT_GE(decoded_scratch, prompt_total);
  EXPECT_LT(decoded_tree, decoded_scratch - 4 * 16);
}

TEST(LlamaBackend, ScoresMatchAnIndependentEvaluationIncludingLeadingSpaceVariants) {
  Reference ref;
  const auto q = noise_image(64, 32, 9), c = noise_image(32, 32, 10);
  const std::string prompt = "Ground: " + M + "\nTile: " + M + "\nSame place? Answer:";
  const auto backend = make_llama_backend(tiny_config());
  std::vector<VlmRequest> reqs = {raw_request({q, c}, prompt, {"A", "B"}),
                                  raw_request({q, c}, prompt, {" A", " B"})};
  const auto out = backend->run(reqs);
  for (std::size_t k = 0; k < 2; ++k) {
    const std::string label = k == 0 ? "A" : "B";
    // "A" and " A" tokenise differently after ':' ("A" vs "\u2581A"); both spell the answer
    const double expected =
        log_add(ref.logprob(prompt, {q, c}, label), ref.logprob(prompt, {q, c}, " " + label));
    EXPECT_NEAR(out[0].logprobs[k], expected, 1e-4);
    EXPECT_NEAR(out[1].logprobs[k], out[0].logprobs[k], 1e-9);
  }
}

TEST(LlamaBackend, APromptEndingInSpacesIsScoredAsTheTextBeforeThem) {
  // "Answer: " + "A" would be a lone space token then "A", which natural text never has; the
  // answers a model emits continue "Answer:" (" A" or "A").
  const auto q = noise_image(64, 32, 9), c = noise_image(32, 32, 10);
  const std::string prompt = "Ground: " + M + "\nTile: " + M + "\nSame place? Answer:";
  const auto backend = make_llama_backend(tiny_config());
  std::vector<VlmRequest> reqs = {raw_request({q, c}, prompt, {"A", "B"}),
                                  raw_request({q, c}, prompt + " ", {"A", "B"}),
                                  raw_request({q, c}, prompt + " \t ", {" A", " B"})};
  reqs.push_back(raw_request({q, c}, "Ground: " + M + "\nTile: " + M + "\nSame place?", {"A", "B"}));
  reqs.back().assistant_prefill = " Answer: ";
  const auto out = backend->run(reqs);
  for (std::size_t i = 1; i < reqs.size(); ++i)
    for (std::size_t k = 0; k < 2; ++k) EXPECT_NEAR(out[i].logprobs[k], out[0].logprobs[k], 1e-9) << i;
  EXPECT_EQ(out[1].n_prompt_tokens, out[0].n_prompt_tokens);
}

TEST(LlamaBackend, MultiTokenAnswersAreTeacherForced) {
  Reference ref;
  const auto q = noise_image(50, 30, 11);
  const std::string prompt = "Ground: " + M + "\nScore from 1 to 100:";
  const auto backend = make_llama_backend(tiny_config());
  const auto out = backend->run(std::vector{raw_request({q}, prompt, {"10", "100", "7"})});
  const std::vector<std::string> answers = {"10", "100", "7"};
  for (std::size_t k = 0; k < answers.size(); ++k) {
    const double expected =
        log_add(ref.logprob(prompt, {q}, answers[k]), ref.logprob(prompt, {q}, " " + answers[k]));
    EXPECT_NEAR(out[0].logprobs[k], expected, 1e-4) << answers[k];
  }
  EXPECT_LT(out[0].logprobs[1], out[0].logprobs[0]);  // "100" continues "10"
}

TEST(LlamaBackend, AChoiceTheVocabularyCannotRepresentIsAnError) {
  const auto backend = make_llama_backend(tiny_config());
  const auto req =
      raw_request({noise_image(32, 32, 1)}, "Image: " + M + "\nAnswer:", {"A", "\xc3\xa9t\xc3\xa9"});
  try {
    backend->run(std::span(&req, 1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("cannot be represented"), std::string::npos) << e.what();
  }
}

TEST(LlamaBackend, AScoringPromptEndingWithAnImageIsAnError) {
  const auto backend = make_llama_backend(tiny_config());
  const auto req = raw_request({noise_image(32, 32, 1)}, "Image: " + M, {"A", "B"});
  EXPECT_THROW(backend->run(std::span(&req, 1)), Error);
}

TEST(LlamaBackend, ReportsTheChatTemplateInUse) {
  VlmRequest chat;
  chat.images = {noise_image(32, 32, 1)};
  chat.messages = {{"user", M + "\nIs this a road?"}};
  chat.choices = {"Yes", "No"};
  const auto own = make_llama_backend(tiny_config())->run(std::span(&chat, 1));
  EXPECT_EQ(own[0].template_name, "model:vicuna");
  LlamaConfig cfg = tiny_config();
  cfg.chat_template = "chatml";
  const auto over = make_llama_backend(cfg)->run(std::span(&chat, 1));
  EXPECT_EQ(over[0].template_name, "chatml");
  EXPECT_GT(over[0].n_prompt_tokens, own[0].n_prompt_tokens);  // "<|im_start|>" spelled in bytes
  cfg.chat_template = "no-such-template";
  EXPECT_THROW(make_llama_backend(cfg), Error);
}

TEST(LlamaBackend, ABatchSmallerThanTheSequenceCountIsAClearError) {
  LlamaConfig cfg = tiny_config();
  cfg.n_batch = 8;  // n_seq_max 16: llama.cpp would abort the process
  try {
    make_llama_backend(cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("n_batch (8) must be at least n_seq_max (16)"), std::string::npos)
        << e.what();
  }
}

TEST(LlamaBackend, ACompositeLayoutRequestSendsOneImage) {
  const auto req = raw_request({noise_image(64, 32, 1), noise_image(32, 32, 2), noise_image(32, 32, 3)},
                               "Ground: " + M + "\nFirst: " + M + "\nSecond: " + M + "\nAnswer:", {"A", "B"});
  const VlmRequest composite = apply_image_layout(req, {ImageLayout::composite, 64});
  ASSERT_EQ(composite.images.size(), 1u);
  EXPECT_EQ(*composite.raw_prompt, "Ground: " + M + "panel 1\nFirst: panel 2\nSecond: panel 3\nAnswer:");
  const auto backend = make_llama_backend(tiny_config());
  const auto out = backend->run(std::span(&composite, 1));
  EXPECT_EQ(out[0].n_image_tokens, 16);
  EXPECT_TRUE(std::isfinite(out[0].logprobs[0]));
  const auto separate = backend->run(std::span(&req, 1));
  EXPECT_EQ(separate[0].n_image_tokens, 48);
}

TEST(LlamaBackend, GenerationThenScoringMatchesScoringTheFinalText) {
  Reference ref;
  const auto q = noise_image(64, 32, 21), c = noise_image(32, 32, 22);
  const std::string prompt = "Ground: " + M + "\nTile: " + M + "\nThink, then answer.";
  VlmRequest req = raw_request({q, c}, prompt, {"Yes", "No"});
  req.generation.max_tokens = 6;
  req.answer_cue = "\nAnswer:";
  LlamaConfig scratch_cfg = tiny_config();
  scratch_cfg.share_prefixes = false;
  const std::vector<VlmRequest> batch = {req, req, raw_request({q, c}, prompt, {"Yes", "No"})};
  const auto out = make_llama_backend(tiny_config())->run(batch);
  const auto again = make_llama_backend(scratch_cfg)->run(batch);
  ASSERT_GE(out[0].n_generated_tokens, 1);
  EXPECT_LE(out[0].n_generated_tokens, 6);
  EXPECT_EQ(out[0].text, out[1].text);  // greedy
  EXPECT_EQ(out[0].text, again[0].text);
  const std::string final_text = prompt + out[0].text + req.answer_cue;
  for (std::size_t k = 0; k < 2; ++k) {
    const std::string a = req.choices[k];
    const double expected =
        log_add(ref.logprob(final_text, {q, c}, a), ref.logprob(final_text, {q, c}, " " + a));
    EXPECT_NEAR(out[0].logprobs[k], expected, 1e-4);
    EXPECT_NEAR(again[0].logprobs[k], expected, 1e-4);
  }
  EXPECT_TRUE(out[2].text.empty());
}

TEST(LlamaBackend, StopStringsEndGeneration) {
  const auto q = noise_image(32, 32, 5);
  VlmRequest req = raw_request({q}, "Describe " + M + " now:", {});
  req.generation.max_tokens = 12;
  const auto free_run = make_llama_backend(tiny_config())->run(std::span(&req, 1));
  ASSERT_GE(free_run[0].text.size(), 3u);
  req.generation.stop = {free_run[0].text.substr(2, 1)};
  const auto stopped = make_llama_backend(tiny_config())->run(std::span(&req, 1));
  EXPECT_EQ(stopped[0].text, free_run[0].text.substr(0, free_run[0].text.find(req.generation.stop[0])));
}

TEST(LlamaBackend, RequestsWithoutAnswersOrGenerationAreOnlyTokenised) {
  const auto req = raw_request({noise_image(32, 32, 1)}, "Image: " + M, {});
  const auto out = make_llama_backend(tiny_config())->run(std::span(&req, 1));
  EXPECT_EQ(out[0].n_image_tokens, 16);
  EXPECT_GT(out[0].n_prompt_tokens, 16);
  EXPECT_EQ(out[0].n_decoded_tokens, 0);
}

}  // namespace
}  // namespace georank
