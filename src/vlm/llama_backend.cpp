#include "georank/vlm/llama_backend.hpp"

#include <algorithm>
#include <numeric>

#include "georank/core/error.hpp"
#include "vlm/llama_session.hpp"

namespace georank {

namespace {

using vlm::PreparedRequest;
using vlm::PromptUnit;

bool unit_less(const PromptUnit& a, const PromptUnit& b) {
  if (a.is_image != b.is_image) return a.is_image < b.is_image;
  return a.is_image ? a.image_key < b.image_key : a.token < b.token;
}

int common_cells(const std::vector<PromptUnit>& a, const std::vector<PromptUnit>& b) {
  int cells = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()) && a[i].same_as(b[i]); ++i) cells += a[i].n_tokens;
  return cells;
}

int cells(const PreparedRequest& p) {
  // prompt + generation + a margin for the answer cue and the longest forced answer
  return p.n_prompt_tokens + p.request->generation.max_tokens + 64;
}

class LlamaBackend final : public VlmBackend {
 public:
  explicit LlamaBackend(const LlamaConfig& config) : session_(config) {}

  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    std::vector<PreparedRequest> prepared;
    prepared.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i)
      prepared.push_back(session_.prepare(requests[i], static_cast<int>(i)));
    std::vector<VlmResponse> responses(requests.size());
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < prepared.size(); ++i) {
      VlmResponse& r = responses[i];
      r.n_prompt_tokens = prepared[i].n_prompt_tokens;
      r.n_image_tokens = prepared[i].n_image_tokens;
      r.template_name = prepared[i].template_name;
      if (prepared[i].decodes()) order.push_back(i);
      if (prepared[i].decodes() && cells(prepared[i]) > session_.n_ctx())
        throw ContextTooSmall("request " + std::to_string(i) + " needs about " +
                              std::to_string(cells(prepared[i])) + " KV cells but the context has " +
                              std::to_string(session_.n_ctx()) + ": raise --ctx-size (n_ctx)");
    }
    const LlamaConfig& cfg = session_.config();
    if (cfg.share_prefixes)  // neighbours in this order share the longest prefixes
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::lexicographical_compare(prepared[a].units.begin(), prepared[a].units.end(),
                                            prepared[b].units.begin(), prepared[b].units.end(), unit_less);
      });
    const std::size_t max_members =
        cfg.share_prefixes ? static_cast<std::size_t>(std::max(1, cfg.n_seq_max * 3 / 4)) : 1;
    const int budget = session_.n_ctx() - session_.n_ctx() / 16;
    std::size_t start = 0;
    while (start < order.size()) {
      std::size_t end = start + 1;
      int used = cells(prepared[order[start]]);
      while (end < order.size() && end - start < max_members) {
        const auto& p = prepared[order[end]];
        const int add = cells(p) - common_cells(p.units, prepared[order[end - 1]].units);
        if (used + add > budget) break;
        used += add;
        ++end;
      }
      std::vector<PreparedRequest*> group;
      std::vector<VlmResponse*> out;
      for (std::size_t k = start; k < end; ++k) {
        group.push_back(&prepared[order[k]]);
        out.push_back(&responses[order[k]]);
      }
      session_.run_group(group, out);
      start = end;
    }
    return responses;
  }

  [[nodiscard]] JudgeIdentity identity() const override { return session_.identity(); }
  [[nodiscard]] std::string name() const override { return "llama.cpp"; }
  [[nodiscard]] BackendInfo info() const override { return session_.info(); }

 private:
  vlm::LlamaSession session_;
};

}  // namespace

std::unique_ptr<VlmBackend> make_llama_backend(const LlamaConfig& config) {
  return std::make_unique<LlamaBackend>(config);
}

}  // namespace georank
