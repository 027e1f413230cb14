#include "vlm/prefix_tree.hpp"

namespace georank::vlm {

std::vector<PrefixNode> build_prefix_tree(const std::vector<const std::vector<PromptUnit>*>& prompts) {
  // One node per unit first, then merge chains.
  std::vector<PrefixNode> raw(1);
  for (int r = 0; r < static_cast<int>(prompts.size()); ++r) {
    int cur = 0;
    for (const PromptUnit& u : *prompts[static_cast<std::size_t>(r)]) {
      int next = -1;
      for (int c : raw[static_cast<std::size_t>(cur)].children) {
        const PrefixNode& child = raw[static_cast<std::size_t>(c)];
        if (child.request < 0 && child.units.front().same_as(u)) {
          next = c;
          break;
        }
      }
      if (next < 0) {
        next = static_cast<int>(raw.size());
        raw.push_back({cur, {u}, {}, -1, r});
        raw[static_cast<std::size_t>(cur)].children.push_back(next);
      }
      cur = next;
    }
    const int terminal = static_cast<int>(raw.size());
    raw.push_back({cur, {}, {}, r, r});
    raw[static_cast<std::size_t>(cur)].children.push_back(terminal);
  }

  std::vector<PrefixNode> out(1);
  out[0].owner = 0;
  // (raw node, parent in out) pairs, depth first
  std::vector<std::pair<int, int>> stack;
  for (auto it = raw[0].children.rbegin(); it != raw[0].children.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [r, parent] = stack.back();
    stack.pop_back();
    PrefixNode node = raw[static_cast<std::size_t>(r)];
    node.parent = parent;
    // absorb single non-terminal children
    while (node.request < 0 && node.children.size() == 1 &&
           raw[static_cast<std::size_t>(node.children[0])].request < 0) {
      const PrefixNode& only = raw[static_cast<std::size_t>(node.children[0])];
      node.units.insert(node.units.end(), only.units.begin(), only.units.end());
      node.children = only.children;
    }
    const std::vector<int> raw_children = node.children;
    node.children.clear();
    const int id = static_cast<int>(out.size());
    out.push_back(std::move(node));
    out[static_cast<std::size_t>(parent)].children.push_back(id);
    for (auto it = raw_children.rbegin(); it != raw_children.rend(); ++it) stack.emplace_back(*it, id);
  }
  return out;
}

int tree_cells(const std::vector<PrefixNode>& nodes) {
  int n = 0;
  for (const auto& node : nodes)
    for (const auto& u : node.units) n += u.n_tokens;
  return n;
}

}  // namespace georank::vlm
