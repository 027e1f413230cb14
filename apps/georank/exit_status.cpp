#include "exit_status.hpp"

#include <string_view>

namespace georank::cli {

int parse_error_status(const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return kExitOk;
  // Commands report their own outcome (dataset not clean, interrupted) as a RuntimeError.
  if (dynamic_cast<const CLI::RuntimeError*>(&e) != nullptr) return e.get_exit_code();
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
    // CLI::ExistingFile/ExistingDirectory/ExistingPath say so only in their message.
    const std::string_view what = e.what();
    if (what.find(" does not exist: ") != std::string_view::npos) return kExitNotFound;
    if (what.find(" is actually a ") != std::string_view::npos) return kExitIo;
  }
  return kExitBadInput;
}

int parse_error_exit(const CLI::App& app, const CLI::ParseError& e) {
  (void)app.exit(e);
  return parse_error_status(e);
}

}  // namespace georank::cli
