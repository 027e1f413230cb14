#include "georank/core/error.hpp"

namespace georank {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_argument: return 2;
    case ErrorKind::not_found: return 3;
    case ErrorKind::io: return 4;
    case ErrorKind::backend: return 5;
    case ErrorKind::timeout: return 6;
  }
  return 1;
}

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::backend: return "backend";
    case ErrorKind::timeout: return "timeout";
  }
  return "unknown";
}

}  // namespace georank
