#include "vlm/prefix_tree.hpp"

#include <gtest/gtest.h>

namespace georank::vlm {
namespace {

PromptUnit text(llama_token t) {
  return {false, t, nullptr, {}, 1};
}
PromptUnit image(const std::string& key) {
  return {true, 0, nullptr, key, 16};
}

TEST(PrefixTree, PairwisePromptsShareTheQueryAndTheFirstCandidate) {
  // [BOS, q, 5, cand_i, 6, cand_j, 7] for all ordered pairs of 3 candidates
  std::vector<std::vector<PromptUnit>> prompts;
  const std::string c[] = {"c0", "c1", "c2"};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      if (i != j)
        prompts.push_back({text(1), image("q"), text(5), image(c[i]), text(6), image(c[j]), text(7)});
  std::vector<const std::vector<PromptUnit>*> ptrs;
  for (const auto& p : prompts) ptrs.push_back(&p);
  const auto nodes = build_prefix_tree(ptrs);
  // shared prefix once (1 + 16 + 1), each first candidate once (16 + 1), each pair's rest once (16 + 1)
  EXPECT_EQ(tree_cells(nodes), 18 + 3 * 17 + 6 * 17);
  int terminals = 0;
  for (const auto& n : nodes) terminals += n.request >= 0;
  EXPECT_EQ(terminals, 6);
  ASSERT_EQ(nodes[0].children.size(), 1u);
  EXPECT_EQ(nodes[static_cast<std::size_t>(nodes[0].children[0])].units.size(), 3u);  // merged chain
}

TEST(PrefixTree, APromptThatIsAPrefixOfAnotherEndsInItsOwnTerminal) {
  const std::vector<PromptUnit> a = {text(1), text(2)}, b = {text(1), text(2), text(3)}, dup = a;
  const auto nodes = build_prefix_tree({&a, &b, &dup});
  EXPECT_EQ(tree_cells(nodes), 3);
  const auto& shared = nodes[static_cast<std::size_t>(nodes[0].children[0])];
  int terminals_here = 0;
  for (int c : shared.children) terminals_here += nodes[static_cast<std::size_t>(c)].request >= 0;
  EXPECT_EQ(terminals_here, 2);  // requests 0 and 2 end after [1, 2]
  EXPECT_EQ(shared.owner, 0);
}

}  // namespace
}  // namespace georank::vlm
