#include "georank/serve/serve_config.hpp"

#include <cstdlib>
#include <fstream>

#include "georank/core/error.hpp"

namespace georank {
namespace {

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "[serve] " + field + ": " + what);
}

}  // namespace

void validate(const ServeConfig& c) {
  if (c.host.empty()) bad("host", "empty");
  if (c.port < 0 || c.port > 65535) bad("port", std::to_string(c.port) + " is not in 0..65535");
  if (c.max_body_bytes < 1024) bad("max_body_bytes", "must be at least 1024");
  if (c.max_pixels < 1) bad("max_pixels", "must be positive");
  if (c.max_k < 1) bad("max_k", "must be positive");
  if (c.workers < 1 || c.workers > 1024) bad("workers", "must be in 1..1024");
  if (c.retrieval_queue < 0) bad("retrieval_queue", "must not be negative");
  if (c.judge_queue < 1) bad("judge_queue", "must be positive");
  if (c.connections < 1 || c.connections > 4096) bad("connections", "must be in 1..4096");
  if (c.max_batch < 1) bad("max_batch", "must be positive");
  if (!(c.request_timeout_s > 0)) bad("request_timeout_s", "must be positive");
  if (!(c.drain_timeout_s >= 0)) bad("drain_timeout_s", "must not be negative");
}

ServiceConfig read_service_config(const std::string& path) {
  TomlDocument doc = read_toml_file(path);
  ServiceConfig out;
  out.source = path;
  if (const auto it = doc.value.find("serve"); it != doc.value.end()) {
    if (!it->is_object())
      throw Error(ErrorKind::invalid_argument, doc.where("serve") + ": serve: expected a [serve] table");
    config_from_json(out.serve, *it, doc.where("serve") + ": [serve]");
    doc.value.erase("serve");
  }
  out.experiment = experiment_config_from_toml(doc, false);
  validate(out.serve);
  return out;
}

std::string api_key_of(const ServeConfig& c) {
  if (!c.api_key_env.empty())
    if (const char* v = std::getenv(c.api_key_env.c_str()); v != nullptr && *v != '\0') return v;
  if (c.api_key_file.empty()) return "";
  std::ifstream f(c.api_key_file);
  if (!f) throw Error(ErrorKind::not_found, "[serve] api_key_file: cannot read " + c.api_key_file);
  std::string key;
  std::getline(f, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.empty())
    throw Error(ErrorKind::invalid_argument, "[serve] api_key_file: " + c.api_key_file + " holds no key");
  return key;
}

}  // namespace georank
