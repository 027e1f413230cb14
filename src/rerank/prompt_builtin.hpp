#pragma once
// The built-in prompt templates: the text of prompts/*.toml, compiled in by CMake
// (see cmake/GeorankPrompts.cmake) so that an installed binary needs no source tree.

#include <span>

namespace georank {

struct BuiltinPromptFile {
  const char* file;  // file name, e.g. "pairwise.toml"
  const char* text;  // exact file content
};

std::span<const BuiltinPromptFile> builtin_prompt_files();

}  // namespace georank
