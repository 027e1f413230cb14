#pragma once
/// One plain config struct per component, its fields listed once. A config struct `T` has
///
///   template <class Self, class Visit> static void fields(Self& self, Visit&& visit) {
///     visit("k", self.k, "Rerank the top-k (the rest keep retrieval order)");
///     ...
///   }
///
/// with defaults in the member declarations. From that one list come JSON to and from
/// (config_to_json, config_from_json: defaults filled in, an unknown key an error naming it),
/// the TOML sections of run configs (the same keys, read as JSON), and the CLI flags
/// (apps/georank/config_flags.hpp: `--k`, `--score-mode`, ...: the field names, '_' as '-').
///
/// Field types: bool, integers, double, std::string, std::vector of those, enums with an
/// `enum_names(E)` overload found by ADL, and nested config structs (a JSON object / TOML table).

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "georank/core/error.hpp"

namespace georank {

/// One name of a closed set of values; `enum_names(E)` returns all of them.
template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) } -> std::convertible_to<std::span<const EnumName<E>>>;
};

namespace config_detail {
struct AnyVisitor {
  template <class V>
  void operator()(const char*, V&, const char*) const {}
};
}  // namespace config_detail

template <class T>
concept ConfigStruct = requires(T& t) {
  T::fields(t, config_detail::AnyVisitor{});
};

/// The name of an enum value ("all-pairs-bt").
template <NamedEnum E>
std::string_view enum_name(E value) {
  for (const auto& n : enum_names(value))
    if (n.value == value) return n.name;
  return "?";
}

/// The accepted names, "a | b | c".
template <NamedEnum E>
std::string enum_choices() {
  std::string out;
  for (const auto& n : enum_names(E{})) out += (out.empty() ? "" : " | ") + std::string(n.name);
  return out;
}

/// The value named `name`, or nothing.
template <NamedEnum E>
std::optional<E> enum_from_name(std::string_view name) {
  for (const auto& n : enum_names(E{}))
    if (n.name == name) return n.value;
  return std::nullopt;
}

/// The value named `name`; Error(invalid_argument) "`what`: unknown 'x' (expected a | b)".
template <NamedEnum E>
E parse_enum(std::string_view name, std::string_view what) {
  if (const auto v = enum_from_name<E>(name)) return *v;
  throw Error(ErrorKind::invalid_argument,
              fmt::format("{}: unknown '{}' (expected {})", what, name, enum_choices<E>()));
}

template <ConfigStruct T>
nlohmann::json config_to_json(const T& config);
template <ConfigStruct T>
void config_from_json(T& config, const nlohmann::json& j, const std::string& where);

namespace config_detail {

template <class V>
struct IsVector : std::false_type {};
template <class E>
struct IsVector<std::vector<E>> : std::true_type {};

template <class V>
nlohmann::json value_to_json(const V& v) {
  if constexpr (ConfigStruct<V>) {
    return config_to_json(v);
  } else if constexpr (NamedEnum<V>) {
    return std::string(enum_name(v));
  } else {
    return nlohmann::json(v);
  }
}

[[noreturn]] inline void bad_value(const std::string& where, const nlohmann::json& v,
                                   std::string_view expected) {
  throw Error(ErrorKind::invalid_argument, fmt::format("{}: expected {}, not {}", where, expected, v.dump()));
}

template <class V>
void value_from_json(V& out, const nlohmann::json& v, const std::string& where) {
  if constexpr (ConfigStruct<V>) {
    if (!v.is_object()) bad_value(where, v, "a table of settings");
    config_from_json(out, v, where);
  } else if constexpr (NamedEnum<V>) {
    if (!v.is_string()) bad_value(where, v, enum_choices<V>());
    out = parse_enum<V>(v.get<std::string>(), where);
  } else if constexpr (std::is_same_v<V, bool>) {
    if (!v.is_boolean()) bad_value(where, v, "true or false");
    out = v.get<bool>();
  } else if constexpr (std::is_integral_v<V>) {
    const auto range =
        fmt::format("an integer in [{}, {}]", std::numeric_limits<V>::min(), std::numeric_limits<V>::max());
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<V>::max())) bad_value(where, v, range);
      out = static_cast<V>(u);
    } else if (v.is_number_integer()) {
      const auto i = v.get<std::int64_t>();
      if (i < 0 && !std::is_signed_v<V>) bad_value(where, v, range);
      if (std::is_signed_v<V> && (i < static_cast<std::int64_t>(std::numeric_limits<V>::min()) ||
                                  i > static_cast<std::int64_t>(std::numeric_limits<V>::max())))
        bad_value(where, v, range);
      out = static_cast<V>(i);
    } else {
      bad_value(where, v, range);
    }
  } else if constexpr (std::is_floating_point_v<V>) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) bad_value(where, v, "a finite number");
    out = static_cast<V>(v.get<double>());
  } else if constexpr (std::is_same_v<V, std::string>) {
    if (!v.is_string()) bad_value(where, v, "a string");
    out = v.get<std::string>();
  } else if constexpr (IsVector<V>::value) {
    // One value stands for a list of one.
    if (!v.is_array()) {
      out.assign(1, {});
      value_from_json(out[0], v, where);
      return;
    }
    V items(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) value_from_json(items[i], v[i], where);
    out = std::move(items);
  } else {
    static_assert(sizeof(V) == 0, "config field of an unsupported type");
  }
}

/// "score-mode" and "score_mode" name the same key.
inline std::string key_of(std::string_view name) {
  std::string k(name);
  for (char& c : k)
    if (c == '-') c = '_';
  return k;
}

}  // namespace config_detail

/// Every field, by name; enums by their names, nested structs as objects.
template <ConfigStruct T>
nlohmann::json config_to_json(const T& config) {
  nlohmann::json out = nlohmann::json::object();
  T::fields(config, [&](const char* name, const auto& value, const char*) {
    out[name] = config_detail::value_to_json(value);
  });
  return out;
}

/// Reads the keys of `j` (an object) over `config`'s current values. `where` starts every
/// message ("run.toml:7: [rerank]"). Throws Error(invalid_argument) for a key that is no
/// field ("unknown key 'x' (expected a, b, ...)") and for a value of the wrong type or range.
template <ConfigStruct T>
void config_from_json(T& config, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) config_detail::bad_value(where, j, "a table of settings");
  for (const auto& item : j.items()) {
    // Named references, not structured bindings: clang 14 cannot capture those.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const std::string k = config_detail::key_of(key);
    bool found = false;
    T::fields(config, [&](const char* name, auto& member, const char*) {
      if (found || k != name) return;
      found = true;
      config_detail::value_from_json(member, value, fmt::format("{} {}", where, key));
    });
    if (!found) {
      std::string names;
      T::fields(config, [&](const char* name, const auto&, const char*) {
        names += (names.empty() ? "" : ", ") + std::string(name);
      });
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{}: unknown key '{}' (expected {})", where, key, names));
    }
  }
}

template <ConfigStruct T>
T config_from_json(const nlohmann::json& j, const std::string& where) {
  T config;
  config_from_json(config, j, where);
  return config;
}

}  // namespace georank
