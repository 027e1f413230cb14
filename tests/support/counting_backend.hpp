#pragma once
// A VlmBackend that forwards to another and counts what it is asked: calls and judgments.

#include <span>
#include <string>
#include <vector>

#include "georank/vlm/vlm.hpp"

namespace georank::test {

class CountingBackend final : public VlmBackend {
 public:
  explicit CountingBackend(VlmBackend& inner) : inner_(inner) {}
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    ++n_runs;
    n_requests += static_cast<int>(requests.size());
    return inner_.run(requests);
  }
  [[nodiscard]] JudgeIdentity identity() const override { return inner_.identity(); }
  [[nodiscard]] std::string name() const override { return inner_.name(); }
  int n_runs = 0;      ///< run() calls
  int n_requests = 0;  ///< judgments asked for

 private:
  VlmBackend& inner_;
};

}  // namespace georank::test
