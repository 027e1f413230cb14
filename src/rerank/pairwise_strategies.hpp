#pragma once
// The budget-aware pairwise aggregators (adaptive, tournament), dispatched by
// aggregate_pairwise() in pairwise_aggregate.cpp.

#include "georank/rerank/aggregate.hpp"

namespace georank {

AggregateResult adaptive_top1(int n, ComparisonOracle& oracle, const PairwiseOptions& options);
AggregateResult tournament(int n, ComparisonOracle& oracle, int group_size);

}  // namespace georank
