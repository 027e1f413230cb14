#pragma once
// Closed-set scoring from a server's per-position top log-probabilities, in two dialects:
// by token id (llama-server, whose /tokenize gives the tokens exactly as the in-process
// backend forms them) and by token text (any OpenAI-compatible server).

#include <functional>
#include <string>
#include <vector>

#include "vlm/remote_answer.hpp"

namespace georank::remote {

struct ScoredChoices {
  std::vector<double> logprobs;  ///< per choice, natural log, >= kMinLogprob
  std::vector<bool> not_in_top;  ///< the choice was not found in the top lists (floored)
  int n_queries = 0;             ///< positions asked for
};

/// The alternatives at the position after the prompt followed by `continuation` (text the
/// caller appends to the assistant's answer so far). Performs one server request.
using NextAlternatives = std::function<std::vector<TokenLogprob>(const std::string& continuation)>;

struct PieceToken {
  int id = 0;
  std::string piece;  ///< the token's text
};
/// Tokenises text as the server does (`add_special`: BOS where the vocabulary wants one).
using Tokenizer = std::function<std::vector<PieceToken>(const std::string& text, bool add_special)>;

/// Scores each choice by the alternatives' texts: tokens equal to the choice (leading spaces
/// ignored at the answer's start) are summed; otherwise the most probable token that is a
/// proper prefix is followed one position further (at most 16 positions); otherwise the
/// choice is floored at the smallest shown log-probability and flagged.
ScoredChoices score_by_text(const std::vector<std::string>& choices, const NextAlternatives& next);

/// Scores each choice exactly as the in-process backend does: the variants `c` and ` c` (c
/// trimmed) are tokenised as continuations of `basis` (the prompt's text after its last
/// image; `basis_is_first`: no image precedes it, so BOS rules apply), each variant's tokens
/// are looked up by id position by position (later positions with the earlier tokens'
/// pieces as continuation), and the probabilities of the variants found in the top lists are
/// summed. A choice none of whose variants is found gets the smallest log-probability shown
/// where its search stopped, and is flagged. Throws Error(invalid_argument) for a choice with
/// no variant that continues the basis.
ScoredChoices score_by_ids(const std::vector<std::string>& choices, const std::string& basis,
                           bool basis_is_first, const Tokenizer& tokenize, const NextAlternatives& next);

}  // namespace georank::remote
