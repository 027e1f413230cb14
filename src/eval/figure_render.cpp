// Static figures: the Vega-Lite specs rendered to SVG by the vega packages under Node, and
// to PNG by librsvg (web/render-figures.mjs), and the browser builds the HTML page inlines.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "eval/report_parts.hpp"
#include "georank/core/atomic_file.hpp"

extern char** environ;

namespace georank::report {
namespace {

namespace fs = std::filesystem;

// The first executable `name` on PATH.
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

constexpr const char* kBuilds[] = {"vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
                                   "vega-embed/build/vega-embed.min.js"};

}  // namespace

std::string web_dir() {
  if (const char* dir = std::getenv("GEORANK_WEB_DIR"); dir && *dir) return dir;
  return std::string(GEORANK_SOURCE_DIR) + "/web";
}

std::string vega_browser_js() {
  const fs::path modules = fs::path(web_dir()) / "node_modules";
  std::string js;
  for (const char* build : kBuilds) {
    const fs::path p = modules / build;
    if (!fs::is_regular_file(p)) return {};
    js += read_file_text(p.string()) + "\n";
  }
  return js;
}

bool render_static_figures(const std::string& figures_dir, std::string& note) {
  const fs::path script = fs::path(web_dir()) / "render-figures.mjs";
  const std::string how = fmt::format("node {} {}", script.string(), figures_dir);
  const std::string node = on_path("node");
  if (node.empty() || !fs::is_regular_file(script) ||
      !fs::is_directory(fs::path(web_dir()) / "node_modules" / "vega-lite")) {
    note = fmt::format(
        "SVG/PNG figures not written: {} (scripts/setup installs Node and the web/ packages); then run "
        "`{}`, or georank report again. The HTML page and the .vl.json specs are complete.",
        node.empty()                   ? "Node.js is not installed"
        : !fs::is_regular_file(script) ? script.string() + " is missing"
                                       : "the web/ npm packages are not installed",
        how);
    return false;
  }
  std::vector<std::string> args = {node, script.string(), figures_dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);  // keep stdout for the report
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, node.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (rc != 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    note = fmt::format(
        "SVG/PNG figures not written: `{}` failed (its message is above); the HTML page and the "
        ".vl.json specs are complete.",
        how);
    return false;
  }
  note.clear();
  return true;
}

}  // namespace georank::report
