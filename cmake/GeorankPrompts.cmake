# Compiles the prompt templates prompts/*.toml into the library as the built-in defaults.
# The generated file is rewritten only when its content changes; editing a template
# re-runs this step (CMAKE_CONFIGURE_DEPENDS).
file(GLOB GEORANK_PROMPT_FILES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/prompts/*.toml")
list(SORT GEORANK_PROMPT_FILES)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${GEORANK_PROMPT_FILES})
set(_georank_prompts_cpp "// Generated from prompts/*.toml by cmake/GeorankPrompts.cmake. Do not edit.\n")
string(APPEND _georank_prompts_cpp "#include \"rerank/prompt_builtin.hpp\"\n\nnamespace georank {\nnamespace {\n")
string(APPEND _georank_prompts_cpp "const BuiltinPromptFile kFiles[] = {\n")
foreach(_file ${GEORANK_PROMPT_FILES})
  file(READ "${_file}" _text)
  get_filename_component(_name "${_file}" NAME)
  string(APPEND _georank_prompts_cpp "    {\"${_name}\", R\"georank_prompt(${_text})georank_prompt\"},\n")
endforeach()
string(APPEND _georank_prompts_cpp "};\n}  // namespace\n\n")
string(APPEND _georank_prompts_cpp "std::span<const BuiltinPromptFile> builtin_prompt_files() { return kFiles; }\n\n}  // namespace georank\n")
set(GEORANK_PROMPTS_CPP "${PROJECT_BINARY_DIR}/generated/builtin_prompts.cpp")
file(CONFIGURE OUTPUT "${GEORANK_PROMPTS_CPP}" CONTENT "${_georank_prompts_cpp}" @ONLY)
