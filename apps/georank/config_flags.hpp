#pragma once
// The CLI flags of a config struct (georank/core/config.hpp): one flag per field, named after
// it with '_' written '-' (`score_mode` is `--score-mode`), its help and default from the
// struct. Commands add their own checks on the options returned.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "checked_number.hpp"
#include "georank/core/config.hpp"

namespace georank::cli {

/// Extra names of a field's flag, by field name: {"n_ctx", "--ctx-size"} (comma-separated, as
/// CLI11 writes names). The field's own name always works.
using FlagAliases = std::map<std::string, std::string>;
/// The option bound to each field, by field name.
using BoundFlags = std::map<std::string, CLI::Option*>;

inline std::string flag_name(std::string_view field) {
  std::string flag = "--";
  for (const char c : field) flag += c == '_' ? '-' : c;
  return flag;
}

namespace flags_detail {

template <class V>
CLI::Option* bind_one(CLI::App& cmd, const std::string& names, V& member, const std::string& help) {
  if constexpr (std::is_same_v<V, bool>) {
    // `--name` sets it, `--name=false` clears it (run configs pass booleans that way).
    return cmd.add_flag(names, member, help)->capture_default_str();
  } else if constexpr (NamedEnum<V>) {
    std::vector<std::string> choices;
    for (const auto& n : enum_names(V{})) choices.emplace_back(n.name);
    return cmd
        .add_option_function<std::string>(
            names, [&member, names](const std::string& text) { member = parse_enum<V>(text, names); }, help)
        ->check(CLI::IsMember(choices))
        ->default_str(std::string(enum_name(member)));
  } else if constexpr (config_detail::IsVector<V>::value) {
    return cmd.add_option(names, member, help)->delimiter(',');
  } else if constexpr (std::is_same_v<V, std::uint64_t> || std::is_same_v<V, std::int64_t>) {
    return cmd.add_option(names, member, help)
        ->check(fits_64_bits(std::is_signed_v<V>))
        ->capture_default_str();
  } else {
    return cmd.add_option(names, member, help)->capture_default_str();
  }
}

}  // namespace flags_detail

/// Binds every field of `config` (which must outlive parsing) to a flag of `cmd`.
template <ConfigStruct T>
BoundFlags bind_flags(CLI::App& cmd, T& config, const FlagAliases& aliases = {}) {
  BoundFlags bound;
  T::fields(config, [&](const char* name, auto& member, const char* help) {
    std::string names = flag_name(name);
    if (const auto it = aliases.find(name); it != aliases.end()) names += "," + it->second;
    bound[name] = flags_detail::bind_one(cmd, names, member, help);
  });
  return bound;
}

}  // namespace georank::cli
