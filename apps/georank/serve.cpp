// `georank serve --config serve.toml`: the localisation service and the runs browser
// (serve/http_service.hpp). SIGTERM or Ctrl-C drains: new requests get 503, in-flight ones
// finish, then the process exits 0; a second signal ends it at once.

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/serve/http_service.hpp"
#include "service_options.hpp"

namespace georank::cli {
namespace {

namespace fs = std::filesystem;

struct ServeOptions {
  ServiceOptions service;
  std::string port_file;
};

// The runs folder: [serve] runs, else the config's out folder when it holds a finished run.
std::string runs_folder(const ServiceConfig& c) {
  if (!c.serve.runs.empty()) return c.serve.runs;
  if (fs::exists(fs::path(c.experiment.out) / "summary.json")) return c.experiment.out;
  return "";
}

// Signals reach a pipe (any thread may take them: the runtimes start threads of their own);
// one thread reads it and drains the service.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  const char c = static_cast<char>(sig);
  (void)!write(g_signal_pipe[1], &c, 1);
}

void run_serve(const ServeOptions& o) {
  const ServiceConfig config = service_config(o.service);
  const std::string key = api_key_of(config.serve);
  const auto localizer = load_localizer(config);
  std::vector<std::string> roots = config.serve.data_roots;
  const RunCatalog runs(runs_folder(config), roots);
  HttpService service(config, *localizer, runs, key);
  const int port = service.bind();

  if (pipe(g_signal_pipe) != 0) throw Error(ErrorKind::io, "serve: cannot create the signal pipe");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::thread waiter([&service] {
    int n_signals = 0;
    char c = 0;
    while (read(g_signal_pipe[0], &c, 1) == 1) {
      if (c == 0) return;  // the service stopped
      if (++n_signals > 1) {
        log_error("second signal: exiting without waiting for the requests in flight");
        std::_Exit(130);
      }
      log_info("draining: {} requests in flight; new ones get 503", service.in_flight());
      service.drain();
    }
  });

  if (!o.port_file.empty()) write_file_atomic(o.port_file, std::to_string(port) + "\n");
  const nlohmann::json info = localizer->info();
  fmt::print("georank serve: http://{}:{}/  (gallery {} tiles, strategies: {}, runs: {}, API key: {})\n",
             config.serve.host, port, info["gallery_size"].get<std::size_t>(),
             info["strategies"].empty() ? "none (retrieval only)" : info["strategies"].dump(),
             runs_folder(config).empty() ? "none" : runs_folder(config), key.empty() ? "off" : "required");
  for (const auto& c : info["caveats"]) fmt::print("NOTE: {}\n", c.get<std::string>());
  std::fflush(stdout);
  service.listen();
  const char stop = 0;
  (void)!write(g_signal_pipe[1], &stop, 1);
  waiter.join();
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  log_info("stopped");
}

}  // namespace

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "HTTP service: POST /v1/localize, tiles, runs browser, metrics, and the browser page at /");
  auto o = std::make_shared<ServeOptions>();
  add_service_options(*cmd, o->service);
  cmd->add_option("--port-file", o->port_file, "Write the port listened on to this file (with --port 0)");
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace georank::cli
