// Evaluation of a group of prepared requests: prefix-tree decode with forked sequences,
// batched generation, and closed-set scoring with teacher forcing.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "georank/core/error.hpp"
#include "georank/core/utf8.hpp"
#include "vlm/answer_basis.hpp"
#include "vlm/llama_session.hpp"

namespace georank::vlm {

struct LlamaSession::Leaf {
  int member = 0;  // index into the group
  llama_seq_id seq = -1;
  llama_pos n_past = 0;                   // next free position of the sequence
  llama_pos basis_start = 0;              // position of the scoring basis' first token
  std::string basis;                      // text the answers continue (last text [+ generation])
  std::vector<llama_token> basis_tokens;  // its tokens, in the KV from basis_start
  std::vector<float> logits;              // logits after the last decoded token
  std::string text;                       // generated text
  int n_generated = 0;
  bool active = false;
  std::mt19937_64 rng;
};

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Batch {
  llama_batch b;
  explicit Batch(int n) : b(llama_batch_init(n, 0, 1)) {}
  ~Batch() { llama_batch_free(b); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  void clear() { b.n_tokens = 0; }
  int add(llama_token t, llama_pos pos, llama_seq_id seq, bool logits) {
    const int i = b.n_tokens++;
    b.token[i] = t;
    b.pos[i] = pos;
    b.n_seq_id[i] = 1;
    b.seq_id[i][0] = seq;
    b.logits[i] = logits;
    return i;
  }
};

class SeqPool {
 public:
  explicit SeqPool(int n) {
    for (int s = n - 1; s >= 0; --s) free_.push_back(s);
  }
  explicit SeqPool(const std::vector<bool>& busy) {
    for (int s = static_cast<int>(busy.size()) - 1; s >= 0; --s)
      if (!busy[static_cast<std::size_t>(s)]) free_.push_back(s);
  }
  llama_seq_id take() {
    if (free_.empty()) throw Error(ErrorKind::backend, "out of sequences; raise n_seq_max");
    const llama_seq_id s = free_.back();
    free_.pop_back();
    return s;
  }
  void give(llama_seq_id s) { free_.push_back(s); }
  [[nodiscard]] int available() const { return static_cast<int>(free_.size()); }

 private:
  std::vector<llama_seq_id> free_;
};

double log_softmax_at(const std::vector<float>& logits, llama_token t) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float x : logits) mx = std::max(mx, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  return static_cast<double>(logits[static_cast<std::size_t>(t)]) - mx - std::log(sum);
}

double log_add(double a, double b) {
  if (a == -std::numeric_limits<double>::infinity()) return b;
  if (b == -std::numeric_limits<double>::infinity()) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

}  // namespace

void LlamaSession::decode_batch(llama_batch& batch, const char* what) {
  if (batch.n_tokens == 0) return;
  const int32_t rc = llama_decode(ctx_.get(), batch);
  if (rc == 1)
    throw Error(ErrorKind::backend, std::string("no KV cells left while decoding ") + what + "; raise n_ctx");
  if (rc != 0)
    throw Error(ErrorKind::backend,
                std::string("llama_decode failed (") + std::to_string(rc) + ") for " + what);
}

void LlamaSession::run_group(const std::vector<PreparedRequest*>& group,
                             std::vector<VlmResponse*>& responses) {
  llama_memory_clear(llama_get_memory(ctx_.get()), true);
  std::vector<const std::vector<PromptUnit>*> prompts;
  for (const auto* p : group) prompts.push_back(&p->units);
  std::vector<PrefixNode> nodes = build_prefix_tree(prompts);
  std::vector<Leaf> leaves(group.size());
  decode_tree(nodes, group, leaves, responses);
  generate(leaves, group, responses);
  score(leaves, group, responses);
  llama_memory_clear(llama_get_memory(ctx_.get()), true);
}

void LlamaSession::decode_tree(std::vector<PrefixNode>& nodes, const std::vector<PreparedRequest*>& group,
                               std::vector<Leaf>& leaves, std::vector<VlmResponse*>& responses) {
  const auto t0 = Clock::now();
  llama_memory_t mem = llama_get_memory(ctx_.get());
  const std::size_t n = nodes.size();
  std::vector<llama_seq_id> seq(n, -1);
  std::vector<llama_pos> pos_end(n, 0);
  SeqPool pool(config_.n_seq_max);
  double encode_total = 0;
  Batch batch(config_.n_batch);

  std::vector<int> frontier = nodes[0].children;
  for (int c : frontier) seq[static_cast<std::size_t>(c)] = pool.take();
  while (!frontier.empty()) {
    // decode every frontier node's units: text of all nodes shares batches, images go alone
    std::vector<std::size_t> cursor(frontier.size(), 0);
    std::vector<llama_pos> pos(frontier.size());
    for (std::size_t k = 0; k < frontier.size(); ++k)
      pos[k] = pos_end[static_cast<std::size_t>(nodes[static_cast<std::size_t>(frontier[k])].parent)];
    for (bool pending = true; pending;) {
      pending = false;
      batch.clear();
      std::vector<std::pair<int, std::size_t>> logit_rows;  // (batch index, frontier slot)
      for (std::size_t k = 0; k < frontier.size(); ++k) {
        const std::size_t id = static_cast<std::size_t>(frontier[k]);
        PrefixNode& node = nodes[id];
        while (cursor[k] < node.units.size() && node.units[cursor[k]].is_image) {
          const PromptUnit& u = node.units[cursor[k]];
          double encode_ms = 0;
          std::vector<float> embd = image_embedding(u.chunk, u.image_key, encode_ms);
          encode_total += encode_ms;
          responses[static_cast<std::size_t>(node.owner)]->timings.encode_ms += encode_ms;
          llama_pos new_pos = 0;
          if (mtmd_helper_decode_image_chunk(mtmd_.get(), ctx_.get(), u.chunk, embd.data(), pos[k], seq[id],
                                             config_.n_batch, &new_pos, nullptr, nullptr) != 0)
            throw Error(ErrorKind::backend, "decoding an image's embeddings failed (raise n_ctx?)");
          pos[k] = new_pos;
          responses[static_cast<std::size_t>(node.owner)]->n_decoded_tokens += u.n_tokens;
          ++cursor[k];
        }
        while (cursor[k] < node.units.size() && !node.units[cursor[k]].is_image &&
               batch.b.n_tokens < config_.n_batch) {
          const bool last = cursor[k] + 1 == node.units.size();
          bool wants_logits = false;
          if (last)
            for (int c : node.children) wants_logits |= nodes[static_cast<std::size_t>(c)].request >= 0;
          const int i = batch.add(node.units[cursor[k]].token, pos[k]++, seq[id], wants_logits);
          if (wants_logits) logit_rows.emplace_back(i, k);
          responses[static_cast<std::size_t>(node.owner)]->n_decoded_tokens += 1;
          ++cursor[k];
        }
        pending |= cursor[k] < node.units.size();
      }
      decode_batch(batch.b, "the prompts");
      for (auto [i, k] : logit_rows) {
        const float* row = llama_get_logits_ith(ctx_.get(), i);
        if (row == nullptr)
          throw Error(ErrorKind::backend, "llama.cpp returned no logits for a prompt's last token");
        for (int c : nodes[static_cast<std::size_t>(frontier[k])].children)
          if (const int r = nodes[static_cast<std::size_t>(c)].request; r >= 0)
            leaves[static_cast<std::size_t>(r)].logits.assign(row, row + n_vocab_);
      }
    }
    // fork: the first child continues its parent's sequence, the others get copies
    std::vector<int> next;
    for (std::size_t k = 0; k < frontier.size(); ++k) {
      const std::size_t id = static_cast<std::size_t>(frontier[k]);
      pos_end[id] = pos[k];
      const auto& children = nodes[id].children;
      for (std::size_t j = 0; j < children.size(); ++j) {
        const std::size_t c = static_cast<std::size_t>(children[j]);
        if (j == 0) {
          seq[c] = seq[id];
        } else {
          seq[c] = pool.take();
          llama_memory_seq_cp(mem, seq[id], seq[c], -1, -1);
        }
        pos_end[c] = pos[k];
        if (const int r = nodes[c].request; r >= 0) {
          Leaf& leaf = leaves[static_cast<std::size_t>(r)];
          const PreparedRequest& p = *group[static_cast<std::size_t>(r)];
          leaf.member = r;
          leaf.seq = seq[c];
          leaf.n_past = pos[k];
          leaf.basis = p.last_text;
          leaf.basis_tokens = p.last_text_tokens;
          leaf.basis_start = pos[k] - static_cast<llama_pos>(p.last_text_tokens.size());
          leaf.rng.seed(p.request->generation.seed);
        } else {
          next.push_back(children[j]);
        }
      }
    }
    frontier = std::move(next);
  }
  const double share = (ms_since(t0) - encode_total) / static_cast<double>(group.size());
  for (auto* r : responses) r->timings.prompt_ms += share;
}

void LlamaSession::generate(std::vector<Leaf>& leaves, const std::vector<PreparedRequest*>& group,
                            std::vector<VlmResponse*>& responses) {
  std::vector<Leaf*> gen;
  for (auto& leaf : leaves)
    if (group[static_cast<std::size_t>(leaf.member)]->request->generation.max_tokens > 0) {
      leaf.active = true;
      gen.push_back(&leaf);
    }
  if (gen.empty()) return;
  const auto t0 = Clock::now();
  Batch batch(std::max(config_.n_batch, static_cast<int>(gen.size())));
  std::vector<std::vector<llama_token>> decoded(leaves.size());
  for (bool any = true; any;) {
    any = false;
    batch.clear();
    std::vector<std::pair<int, Leaf*>> rows;
    for (Leaf* leaf : gen) {
      if (!leaf->active) continue;
      const GenerationParams& g = group[static_cast<std::size_t>(leaf->member)]->request->generation;
      llama_token tok = 0;
      if (g.temperature <= 0) {
        tok = static_cast<llama_token>(std::max_element(leaf->logits.begin(), leaf->logits.end()) -
                                       leaf->logits.begin());
      } else {
        const float mx = *std::max_element(leaf->logits.begin(), leaf->logits.end());
        std::vector<double> w(leaf->logits.size());
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::exp((leaf->logits[i] - mx) / g.temperature);
        std::discrete_distribution<int> dist(w.begin(), w.end());
        tok = dist(leaf->rng);
      }
      if (llama_vocab_is_eog(vocab_, tok)) {
        leaf->active = false;
        continue;
      }
      leaf->text += token_piece(vocab_, tok);
      ++leaf->n_generated;
      bool stop = leaf->n_generated >= g.max_tokens;
      for (const auto& s : g.stop)
        if (const auto at = leaf->text.find(s); !s.empty() && at != std::string::npos) {
          leaf->text.resize(at);
          stop = true;
        }
      if (stop) {
        leaf->active = false;
        continue;
      }
      rows.emplace_back(batch.add(tok, leaf->n_past++, leaf->seq, true), leaf);
      decoded[static_cast<std::size_t>(leaf->member)].push_back(tok);
      responses[static_cast<std::size_t>(leaf->member)]->n_decoded_tokens += 1;
      any = true;
      if (batch.b.n_tokens >= config_.n_batch) break;  // the rest continue next step
    }
    if (!any) {
      for (Leaf* leaf : gen) any |= leaf->active;
      if (!any) break;
      continue;
    }
    decode_batch(batch.b, "generated tokens");
    for (auto [i, leaf] : rows) {
      const float* row = llama_get_logits_ith(ctx_.get(), i);
      if (row == nullptr) throw Error(ErrorKind::backend, "llama.cpp returned no logits during generation");
      leaf->logits.assign(row, row + n_vocab_);
    }
  }
  // Re-anchor the scoring basis on the final text: the tokens already in the KV are kept up to
  // where they agree with the tokenisation of (last text + generation + answer cue).
  batch.clear();
  std::vector<std::pair<int, Leaf*>> rows;
  auto flush = [&] {
    decode_batch(batch.b, "answer cues");
    for (auto [i, l] : rows) {
      const float* row = llama_get_logits_ith(ctx_.get(), i);
      if (row == nullptr) throw Error(ErrorKind::backend, "llama.cpp returned no logits for an answer cue");
      l->logits.assign(row, row + n_vocab_);
    }
    rows.clear();
    batch.clear();
  };
  for (Leaf* leaf : gen) {
    const PreparedRequest& p = *group[static_cast<std::size_t>(leaf->member)];
    responses[static_cast<std::size_t>(leaf->member)]->text = to_valid_utf8(leaf->text);
    responses[static_cast<std::size_t>(leaf->member)]->n_generated_tokens = leaf->n_generated;
    if (p.request->choices.empty()) continue;
    std::vector<llama_token> in_kv = leaf->basis_tokens;
    const auto& dec = decoded[static_cast<std::size_t>(leaf->member)];
    in_kv.insert(in_kv.end(), dec.begin(), dec.end());
    leaf->basis += leaf->text + p.request->answer_cue;
    trim_answer_basis(leaf->basis);
    leaf->basis_tokens = tokenize(vocab_, leaf->basis, p.last_is_first_chunk, true, "generated text");
    std::size_t common = 0;
    while (common < in_kv.size() && common < leaf->basis_tokens.size() &&
           in_kv[common] == leaf->basis_tokens[common])
      ++common;
    if (common == leaf->basis_tokens.size()) --common;  // the last token must be decoded for its logits
    llama_memory_seq_rm(llama_get_memory(ctx_.get()), leaf->seq,
                        leaf->basis_start + static_cast<llama_pos>(common), -1);
    if (batch.b.n_tokens + static_cast<int>(leaf->basis_tokens.size() - common) > config_.n_batch) {
      flush();
    }
    leaf->n_past = leaf->basis_start + static_cast<llama_pos>(common);
    for (std::size_t j = common; j < leaf->basis_tokens.size(); ++j) {
      const int i =
          batch.add(leaf->basis_tokens[j], leaf->n_past++, leaf->seq, j + 1 == leaf->basis_tokens.size());
      if (j + 1 == leaf->basis_tokens.size()) rows.emplace_back(i, leaf);
      responses[static_cast<std::size_t>(leaf->member)]->n_decoded_tokens += 1;
    }
  }
  flush();
  const double share = ms_since(t0) / static_cast<double>(gen.size());
  for (Leaf* leaf : gen) responses[static_cast<std::size_t>(leaf->member)]->timings.generate_ms += share;
}

void LlamaSession::score(std::vector<Leaf>& leaves, const std::vector<PreparedRequest*>& group,
                         std::vector<VlmResponse*>& responses) {
  const auto t0 = Clock::now();
  llama_memory_t mem = llama_get_memory(ctx_.get());
  struct Job {
    Leaf* leaf;
    std::size_t choice;
    std::vector<llama_token> tokens;
    double logprob = 0;
  };
  std::vector<Job> jobs;
  std::vector<std::vector<double>> lp(leaves.size());
  int n_scoring = 0;
  for (Leaf& leaf : leaves) {
    const VlmRequest& req = *group[static_cast<std::size_t>(leaf.member)]->request;
    if (req.choices.empty()) continue;
    ++n_scoring;
    const bool first = group[static_cast<std::size_t>(leaf.member)]->last_is_first_chunk;
    lp[static_cast<std::size_t>(leaf.member)].assign(req.choices.size(),
                                                     -std::numeric_limits<double>::infinity());
    for (std::size_t c = 0; c < req.choices.size(); ++c) {
      const std::string& choice = req.choices[c];
      const std::string trimmed = choice.substr(choice.find_first_not_of(" \t\n"));
      std::vector<std::vector<llama_token>> variants;
      for (const std::string& v : {trimmed, " " + trimmed}) {
        const auto all = tokenize(vocab_, leaf.basis + v, first, true, "choice '" + choice + "'");
        if (all.size() <= leaf.basis_tokens.size() ||
            !std::equal(leaf.basis_tokens.begin(), leaf.basis_tokens.end(), all.begin()))
          continue;  // the answer merges into the prompt's last token: not a continuation
        std::vector<llama_token> answer(all.begin() + static_cast<long>(leaf.basis_tokens.size()), all.end());
        if (std::find(variants.begin(), variants.end(), answer) == variants.end()) variants.push_back(answer);
      }
      if (variants.empty())
        throw Error(ErrorKind::invalid_argument,
                    "choice '" + choice +
                        "' cannot be represented as a continuation of the prompt by the vocabulary");
      for (auto& v : variants) jobs.push_back({&leaf, c, std::move(v), 0});
    }
  }
  // first answer tokens come from the leaves' logits; the rest are teacher-forced in forks
  for (Job& job : jobs) job.logprob = log_softmax_at(job.leaf->logits, job.tokens[0]);
  // forks for teacher forcing use the sequences the leaves do not hold
  std::vector<bool> busy(static_cast<std::size_t>(config_.n_seq_max), false);
  for (const Leaf& leaf : leaves) busy[static_cast<std::size_t>(leaf.seq)] = true;
  SeqPool pool(busy);
  Batch batch(config_.n_batch);
  std::size_t next = 0;
  while (next < jobs.size()) {
    batch.clear();
    std::vector<std::pair<Job*, llama_seq_id>> round;
    std::vector<std::vector<int>> rows;
    for (; next < jobs.size(); ++next) {
      Job& job = jobs[next];
      const int extra = static_cast<int>(job.tokens.size()) - 1;
      if (extra == 0) continue;
      if (pool.available() == 0 || (batch.b.n_tokens + extra > config_.n_batch && batch.b.n_tokens > 0))
        break;
      const llama_seq_id s = pool.take();
      llama_memory_seq_cp(mem, job.leaf->seq, s, -1, -1);
      rows.emplace_back();
      for (int j = 0; j < extra; ++j) {
        rows.back().push_back(
            batch.add(job.tokens[static_cast<std::size_t>(j)], job.leaf->n_past + j, s, true));
        responses[static_cast<std::size_t>(job.leaf->member)]->n_decoded_tokens += 1;
      }
      round.emplace_back(&job, s);
    }
    if (round.empty()) {
      if (next < jobs.size())
        throw Error(ErrorKind::backend,
                    "an answer is longer than n_batch tokens or no sequence is free; raise them");
      break;
    }
    decode_batch(batch.b, "multi-token answers");
    for (std::size_t k = 0; k < round.size(); ++k) {
      Job& job = *round[k].first;
      for (std::size_t j = 0; j < rows[k].size(); ++j) {
        const float* row = llama_get_logits_ith(ctx_.get(), rows[k][j]);
        if (row == nullptr)
          throw Error(ErrorKind::backend, "llama.cpp returned no logits for an answer token");
        job.logprob += log_softmax_at(std::vector<float>(row, row + n_vocab_), job.tokens[j + 1]);
      }
      llama_memory_seq_rm(mem, round[k].second, -1, -1);
      pool.give(round[k].second);
    }
  }
  for (const Job& job : jobs) {
    auto& v = lp[static_cast<std::size_t>(job.leaf->member)][job.choice];
    v = log_add(v, job.logprob);
  }
  const double share = n_scoring > 0 ? ms_since(t0) / n_scoring : 0.0;
  for (const Leaf& leaf : leaves) {
    const auto& v = lp[static_cast<std::size_t>(leaf.member)];
    if (v.empty()) continue;
    VlmResponse& r = *responses[static_cast<std::size_t>(leaf.member)];
    r.logprobs = v;
    double mass = 0;
    for (double x : v) mass += std::exp(x);
    r.covered_mass = mass;
    r.probs.clear();
    const double norm = *std::max_element(v.begin(), v.end());
    double z = 0;
    for (double x : v) z += std::exp(x - norm);
    for (double x : v) r.probs.push_back(std::exp(x - norm) / z);
    r.timings.score_ms += share;
  }
}

}  // namespace georank::vlm
