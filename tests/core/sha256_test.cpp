#include "georank/core/sha256.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/evp.h>

#include <string>

#include "georank/core/error.hpp"

namespace georank {
namespace {

TEST(Sha256, MatchesAKnownVector) {
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, AFailedInitIsABackendErrorAndLeaksNoDigestContext) {
  // A default property no provider offers makes every SHA-256 fetch, and so the init, fail.
  ASSERT_EQ(EVP_set_default_properties(nullptr, "georank.test=unavailable"), 1);
  struct Restore {
    ~Restore() { EVP_set_default_properties(nullptr, ""); }
  } restore;
  const std::uint8_t byte = 0;
  const auto hash_once = [&] {
    try {
      (void)sha256_hex({&byte, 1});
      ADD_FAILURE() << "SHA-256 worked without a provider";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::backend);
    }
  };
  for (int i = 0; i < 100; ++i) hash_once();  // warm up OpenSSL's own one-off state
  const std::size_t before = mallinfo2().uordblks;
  const int n = 20000;
  for (int i = 0; i < n; ++i) hash_once();
  const std::size_t after = mallinfo2().uordblks;
  // A leaked EVP_MD_CTX is at least 48 bytes each: ~1 MB over n calls.
  EXPECT_LT(after > before ? after - before : 0, 64u * 1024) << "heap grew over " << n << " failed inits";
}

TEST(Sha256, IncrementalUpdatesEqualOneBufferAndFilesAreStreamed) {
  Sha256 h;
  h.update("a", 1);
  h.update("bc", 2);
  EXPECT_EQ(h.hex(), sha256_hex(std::string_view("abc")));
  try {
    (void)sha256_file("/no/such/file");
    FAIL() << "hashed a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

}  // namespace
}  // namespace georank
