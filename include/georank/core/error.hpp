#pragma once
/// The single error type thrown by the georank library. The CLI maps kinds to exit codes
/// and the service maps them to HTTP statuses.

#include <stdexcept>
#include <string>

namespace georank {

enum class ErrorKind {
  invalid_argument,  ///< bad user input: flag, file content, field value
  not_found,         ///< a file, id or resource that does not exist
  io,                ///< reading or writing failed
  backend,           ///< llama.cpp, ONNX Runtime, FAISS, SQLite or a server failed
  timeout,           ///< an operation ran past its deadline
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Process exit status for an error kind (2 invalid argument, 3 not found, 4 I/O,
/// 5 backend, 6 timeout).
int exit_code(ErrorKind kind) noexcept;

/// Short stable name of a kind ("invalid_argument", ...), used in JSON error bodies.
const char* to_string(ErrorKind kind) noexcept;

}  // namespace georank
