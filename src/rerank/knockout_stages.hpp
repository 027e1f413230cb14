#pragma once
// The stage machinery that tournament (pairwise groups) and set-wise (best-of-c sets) share:
// snake-seeded groups, each group's winner, and the final order by the stage reached.

#include <cstddef>
#include <vector>

namespace georank {

/// `alive` (in seed order, best seed first) split into ceil(n / group_size) groups, snake
/// seeded: seeds 0..g-1 open the groups, g..2g-1 come back the other way, and so on.
std::vector<std::vector<int>> snake_groups(const std::vector<int>& alive, int group_size);

/// The best member of each group by `key` (ties: the lower index), in ascending index order;
/// every member's `stage` is set to `s`, the stage it played last.
std::vector<int> group_winners(const std::vector<std::vector<int>>& groups, const std::vector<double>& key,
                               int s, std::vector<int>& stage);

/// Candidates 0..n-1 ordered: the champion first, then by the last stage played (later first),
/// then by `tiebreak` (higher first); stable.
std::vector<int> staged_order(std::size_t n, int champion, const std::vector<int>& stage,
                              const std::vector<double>& tiebreak);

}  // namespace georank
