// Server URLs whose port is too long for any integer type.

#include "vlm/remote_http.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "georank/core/error.hpp"

namespace georank::remote {
namespace {

TEST(RemoteEndpoint, APortPastEveryIntegerTypeIsAnInvalidArgumentNamingTheUrl) {
  for (const char* url :
       {"http://127.0.0.1:99999999999999999999", "http://host:18446744073709551616/v1", "http://host:-1"}) {
    try {
      (void)parse_endpoint(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << url;
      EXPECT_THAT(e.what(), testing::HasSubstr(url));
      EXPECT_THAT(e.what(), testing::HasSubstr("bad port"));
    }
  }
  EXPECT_EQ(parse_endpoint("http://127.0.0.1:65535").scheme_host_port, "http://127.0.0.1:65535");
}

}  // namespace
}  // namespace georank::remote
