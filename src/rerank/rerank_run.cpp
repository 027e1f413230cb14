#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/progress.hpp"
#include "georank/core/recorded_time.hpp"
#include "georank/rerank/run.hpp"
#include "rerank/round_merger.hpp"

namespace georank {
namespace {

// Forwards to the backend and counts the judgments it computes (without a cache).
class CountingBackend final : public VlmBackend {
 public:
  explicit CountingBackend(VlmBackend& inner) : inner_(inner) {}
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    n += static_cast<std::int64_t>(requests.size());
    return inner_.run(requests);
  }
  JudgeIdentity identity() const override { return inner_.identity(); }
  std::string name() const override { return inner_.name(); }
  std::int64_t n = 0;

 private:
  VlmBackend& inner_;
};

}  // namespace

std::string format_rerank_progress(const RerankProgress& p, int bar_width) {
  const double qps = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0.0;
  const double cps = p.elapsed_s > 0 ? static_cast<double>(p.backend_calls) / p.elapsed_s : 0.0;
  return format_progress("rerank", static_cast<std::size_t>(p.done), static_cast<std::size_t>(p.total), qps,
                         "queries", bar_width) +
         fmt::format("  {:.1f} VLM calls/s  {} cached", cps, p.cache_hits);
}

RerankRunResult rerank_all(std::span<const QueryRanking> input, const RerankImages& images,
                           const RerankConfig& config, const PromptTemplate& prompt, VlmBackend& backend,
                           JudgmentCache* cache, const std::function<void(const RerankProgress&)>& progress) {
  validate(config);
  if (!images.query || !images.tile) throw Error(ErrorKind::invalid_argument, "rerank: no image source");
  const auto start = std::chrono::steady_clock::now();
  CountingBackend counted(backend);
  std::unique_ptr<CachingBackend> cached;
  if (cache) cached = std::make_unique<CachingBackend>(counted, *cache, prompt.sha256);
  VlmBackend& judge = cached ? static_cast<VlmBackend&>(*cached) : counted;

  RerankRunResult result;
  const auto report = [&](std::size_t done) {
    result.backend_calls = counted.n;
    result.cache_hits = cached ? cached->n_hits() : 0;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress)
      progress({static_cast<std::int64_t>(done), static_cast<std::int64_t>(input.size()), result.seconds,
                result.backend_calls, result.cache_hits});
  };
  const auto judge_images = [&](const QueryRanking& q) {
    JudgeImages ji;
    ji.query = images.query(q);
    ji.layout = config.images;
    const std::size_t k = std::min(static_cast<std::size_t>(config.k), q.candidates.size());
    for (std::size_t i = 0; i < k; ++i) ji.candidates.push_back(images.tile(q.candidates[i]));
    return ji;
  };

  const std::size_t n_workers = std::min(static_cast<std::size_t>(config.query_batch), input.size());
  if (n_workers <= 1) {
    result.rankings.reserve(input.size());
    for (const QueryRanking& q : input) {
      result.rankings.push_back(rerank_query(q, judge_images(q), config, prompt, judge, &result.stats));
      report(result.rankings.size());
    }
    return result;
  }

  // Several queries at once: a worker per query in flight, their rounds merged into one call.
  RoundMerger merger(judge, static_cast<int>(n_workers));
  std::vector<std::optional<QueryRanking>> rankings(input.size());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // the image sources, the stats, the progress and the first error
  std::size_t done = 0;
  std::exception_ptr error;
  const auto work = [&] {
    RoundMerger::Member member(merger);
    try {
      for (std::size_t i; (i = next++) < input.size();) {
        JudgeImages ji;
        {
          std::lock_guard lock(mutex);
          ji = judge_images(input[i]);
        }
        member.set_query(i);
        RerankStats stats;
        QueryRanking ranked = rerank_query(input[i], ji, config, prompt, member, &stats);
        std::lock_guard lock(mutex);
        rankings[i] = std::move(ranked);
        result.stats += stats;
        report(++done);
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!error) error = std::current_exception();
      next = input.size();  // the other workers finish their queries and stop
    }
    merger.leave();
  };
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < n_workers; ++w) workers.emplace_back(work);
  merger.serve();  // the judge runs on this thread, as for one query at a time
  for (auto& t : workers) t.join();
  if (error) std::rethrow_exception(error);
  result.rankings.reserve(input.size());
  for (auto& r : rankings) result.rankings.push_back(std::move(*r));
  report(result.rankings.size());
  return result;
}

nlohmann::json rerank_meta(const RerankConfig& config, const PromptTemplate& prompt,
                           const VlmBackend& backend, const RerankRunResult& result,
                           const nlohmann::json& extra) {
  nlohmann::json j = {
      {"config", to_json(config)},
      {"prompt", prompt_record(prompt)},
      {"backend", judge_record(backend)},
      {"counts",
       {{"queries", result.stats.n_queries},
        {"judgments", result.stats.n_judgments},
        {"rounds", result.stats.n_rounds},
        {"unparsed", result.stats.n_unparsed},
        {"backend_calls", result.backend_calls},
        {"cache_hits", result.cache_hits}}},
      {"seconds", recorded_seconds(result.seconds)},
  };
  if (backend.name() == "simulated") {
    j["judge"] = "simulated";
    j["note"] = "SIMULATED judge: these rankings say nothing about any real model.";
  } else {
    j["judge"] = "vlm";
  }
  for (const auto& [key, value] : extra.items()) j[key] = value;
  return j;
}

nlohmann::json judge_record(const VlmBackend& backend) {
  const JudgeIdentity id = backend.identity();
  return {{"name", backend.name()},
          {"identity", id.to_json()},
          {"identity_sha256", id.digest()},
          {"random_weights", backend.info().random_weights}};
}

}  // namespace georank
