#include "georank/serve/data_roots.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

TEST(DataRoots, AFileInsideARootIsServedAndEverythingLeadingOutIsNot) {
  const std::string dir = test::fresh_work_dir("data_roots");
  fs::create_directories(dir + "/root/sub");
  fs::create_directories(dir + "/outside");
  std::ofstream(dir + "/root/sub/a.png") << "a";
  std::ofstream(dir + "/outside/secret.txt") << "s";
  fs::create_symlink(dir + "/outside/secret.txt", dir + "/root/sub/link.png");
  fs::create_symlink(dir + "/root/sub/a.png", dir + "/root/inner-link.png");
  const DataRoots roots({dir + "/root", dir + "/does-not-exist"});
  ASSERT_EQ(roots.roots().size(), 1u);
  const std::string root = dir + "/root";
  EXPECT_EQ(roots.contain(dir + "/root/sub/a.png"), fs::canonical(dir + "/root/sub/a.png").string());
  EXPECT_EQ(roots.contain(dir + "/root/sub/../sub/a.png"), fs::canonical(dir + "/root/sub/a.png").string());
  EXPECT_FALSE(roots.contain(dir + "/outside/secret.txt"));
  EXPECT_FALSE(roots.contain(dir + "/root/sub/link.png"));  // a symlink out of the root
  EXPECT_FALSE(roots.contain(dir + "/root/../outside/secret.txt"));
  EXPECT_FALSE(roots.contain(dir + "/root/sub"));  // not a file
  EXPECT_TRUE(roots.contain(dir + "/root/inner-link.png"));
  EXPECT_TRUE(roots.resolve_under(root, "sub/a.png"));
  for (const char* bad : {"", "/etc/hostname", "../outside/secret.txt", "sub/../../outside/secret.txt",
                          "sub/link.png", "sub/./a.png", "sub\\a.png", "sub/", "nope.png"})
    EXPECT_FALSE(roots.resolve_under(root, bad)) << bad;
  EXPECT_FALSE(roots.resolve_under(root, std::string_view("sub/a.png\0x", 11)));
  // A prefix of the name is not the folder: root2 is not inside root.
  fs::create_directories(dir + "/root2");
  std::ofstream(dir + "/root2/b.png") << "b";
  EXPECT_FALSE(roots.contain(dir + "/root2/b.png"));
}

}  // namespace
}  // namespace georank
