#pragma once
/// SHA-256 through OpenSSL (hardware SHA where the CPU has it): the one digest georank uses
/// for ids, fingerprints, prompt and model hashes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace georank {

/// An incremental digest. Throws Error(backend) when OpenSSL cannot provide SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t n);
  /// Lower-case hex digest of everything updated so far; the digest cannot be updated after.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

/// Lower-case hex SHA-256 of a byte buffer.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
/// Lower-case hex SHA-256 of a text's bytes.
std::string sha256_hex(std::string_view text);
/// Lower-case hex SHA-256 of a file's content, streamed (model files run to gigabytes).
/// Throws Error(not_found/io/invalid_argument) as require_readable_file does.
std::string sha256_file(const std::string& path);

}  // namespace georank
