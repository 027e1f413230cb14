// The browser page, in Debian's Chromium through Playwright (tests/serve/browser_test.mjs),
// served by a real `georank serve` on the demo's outputs: browse a run and a query, upload an
// image and see it on the map, and no request leaves localhost.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "georank/core/atomic_file.hpp"
#include "georank/data/dataset.hpp"
#include "support/serve_process.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

TEST(ServePage, BrowsesARunAQueryAndAnUploadOnTheMapWithoutLeavingLocalhost) {
  const std::string demo = test::serve_demo_dir();
  const std::string dir = test::fresh_work_dir("serve_page");
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + demo + "/vigor"));
  const std::string upload = dir + "/upload.jpg";
  std::ofstream(upload, std::ios::binary) << read_file_text(ds.queries.front().path);
  test::ServeProcess server(demo + "/run/run.resolved.toml");
  const auto page = test::run_command(
      "node " + test::shell_quote(std::string(GEORANK_SOURCE_DIR) + "/tests/serve/browser_test.mjs") + " " +
      test::shell_quote("http://127.0.0.1:" + std::to_string(server.port())) + " " +
      test::shell_quote(upload) + " " + test::shell_quote(dir));
  EXPECT_EQ(page.exit_code, 0) << page.out << page.err << server.log();
  EXPECT_NE(page.out.find("\"ok\":true"), std::string::npos) << page.out << page.err;
  for (const char* shot : {"run.png", "query.png", "localize.png"})
    EXPECT_TRUE(fs::exists(dir + "/" + shot) && fs::file_size(dir + "/" + shot) > 10000) << shot;
}

}  // namespace
}  // namespace georank
