#include "georank/core/sha256.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/core/readable_file.hpp"

namespace georank {

// The EVP context is owned from the moment it is created, so a failed init (the constructor
// throws, no destructor runs) does not leak it.
struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::backend, "OpenSSL SHA-256 init failed");
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t n) {
  if (EVP_DigestUpdate(ctx_->md.get(), data, n) != 1)
    throw Error(ErrorKind::backend, "OpenSSL SHA-256 update failed");
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (EVP_DigestFinal_ex(ctx_->md.get(), md, &n) != 1)
    throw Error(ErrorKind::backend, "OpenSSL SHA-256 final failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

std::string sha256_hex(std::string_view text) {
  Sha256 h;
  h.update(text.data(), text.size());
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  require_readable_file(path);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(ErrorKind::io, "cannot read " + path + ": " + std::strerror(errno));
  Sha256 h;
  std::vector<std::uint8_t> buf(1u << 20);
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0;) h.update(buf.data(), n);
  if (std::ferror(f.get())) throw Error(ErrorKind::io, "cannot read " + path);
  return h.hex();
}

}  // namespace georank
