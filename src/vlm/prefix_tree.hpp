#pragma once
// A prefix tree over tokenised prompts: requests that begin with the same text tokens and
// images share nodes, so each node is decoded once and forked to its children.

#include <llama.h>
#include <mtmd.h>

#include <string>
#include <vector>

namespace georank::vlm {

/// One step of a prompt: a text token or a whole image.
struct PromptUnit {
  bool is_image = false;
  llama_token token = 0;                    ///< text units
  const mtmd_input_chunk* chunk = nullptr;  ///< image units (owned by the request's chunks)
  std::string image_key;                    ///< image units: cache key (projector + image id)
  int n_tokens = 1;                         ///< KV cells the unit occupies
  bool same_as(const PromptUnit& o) const {
    return is_image == o.is_image && (is_image ? image_key == o.image_key : token == o.token);
  }
};

struct PrefixNode {
  int parent = -1;
  std::vector<PromptUnit> units;  ///< empty for the root and for terminals
  std::vector<int> children;
  int request = -1;  ///< terminal nodes: the request (index into the tree's input) ending here
  int owner = -1;    ///< first request (input order) whose prompt passes through this node
};

/// Node 0 is an empty root. Each prompt ends in its own terminal node (a child of the node
/// holding its last unit); chains without branching or ending requests are merged into one
/// node. `prompts[i]` is request i's unit sequence.
std::vector<PrefixNode> build_prefix_tree(const std::vector<const std::vector<PromptUnit>*>& prompts);

/// Number of KV cells the tree's units occupy (each shared unit counted once).
int tree_cells(const std::vector<PrefixNode>& nodes);

}  // namespace georank::vlm
