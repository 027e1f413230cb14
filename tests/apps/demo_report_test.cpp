// `georank demo` ends with its report: report.html, every figure as SVG and PNG (vega under
// Node, librsvg), and the page works offline in Chromium (tests/report/report_page_test.mjs).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;

TEST(DemoReport, TheDemoWritesTheReportWithStaticFiguresAndThePageWorksOfflineInChromium) {
  const std::string dir = test::fresh_work_dir("demo_report");
  const auto demo = test::run_command(std::string(GEORANK_CLI_PATH) + " demo --queries 8 --out " +
                                      test::shell_quote(dir + "/demo"));
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  const std::string report = dir + "/demo/report";
  ASSERT_TRUE(fs::exists(report + "/report.html"));
  std::ifstream in(report + "/report.json");
  const auto rep = nlohmann::json::parse(in);
  // scripts/setup installs Node, the web/ packages and librsvg: the static files are there.
  EXPECT_TRUE(rep.at("static_figures").at("rendered").get<bool>()) << rep.at("static_figures").dump();
  ASSERT_GE(rep.at("figures").size(), 5u);
  for (const auto& f : rep.at("figures"))
    for (const char* kind : {"spec", "svg", "png"}) {
      const std::string path = report + "/" + f.at(kind).get<std::string>();
      EXPECT_TRUE(fs::exists(path) && fs::file_size(path) > 200) << path;
    }
  const auto page = test::run_command(
      "node " + test::shell_quote(std::string(GEORANK_SOURCE_DIR) + "/tests/report/report_page_test.mjs") +
      " " + test::shell_quote(report + "/report.html") + " " + test::shell_quote(dir + "/report-page.png"));
  EXPECT_EQ(page.exit_code, 0) << page.out << page.err;
  EXPECT_NE(page.out.find("drill-down ok, 0 network requests"), std::string::npos) << page.out << page.err;
  EXPECT_TRUE(fs::exists(dir + "/report-page.png"));
}

}  // namespace
}  // namespace georank
