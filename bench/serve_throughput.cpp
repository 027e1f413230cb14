// Localisation throughput of `georank serve` under load, against the library call in one
// process (the HTTP overhead as a ratio), resident memory before and after, and a saturated
// judge queue (its overflow must get 503, not a hang).
//
//   bench_serve_throughput [--tiles 90618] [--dim 1024] [--clients 50] [--seconds 10]
//                          [--judge-seconds 5] [--out DIR] [--json FILE] [--check]
//
// Retrieval-only: the clients POST random query embeddings (JSON) against a gallery of
// random unit embeddings (exact inner-product search). --check exits 1 unless every request
// succeeded, resident memory stayed flat and the saturated judge answered 200 or 503 only.
// Random embeddings: the numbers are speeds, not accuracies.

#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "georank/core/atomic_file.hpp"
#include "georank/retrieval/npy.hpp"
#include "georank/serve/localizer.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t tiles = 90618;  // VIGOR's gallery
  std::size_t dim = 1024;
  int clients = 50;
  double seconds = 10;
  double judge_seconds = 5;
  std::string out = "out/bench-serve";
  std::string json_path;
  bool check = false;
};

double rss_mb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

struct Load {
  std::vector<double> ms;
  std::int64_t errors = 0, busy = 0;
  double seconds = 0;
  double max_ms = 0;
  [[nodiscard]] double rps() const { return seconds > 0 ? static_cast<double>(ms.size()) / seconds : 0; }
  [[nodiscard]] double pct(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<std::size_t>(p * static_cast<double>(s.size())))];
  }
  [[nodiscard]] json to_json() const {
    return {{"requests", ms.size()}, {"requests_per_s", rps()}, {"p50_ms", pct(0.5)}, {"p99_ms", pct(0.99)},
            {"max_ms", max_ms},      {"errors", errors},        {"busy_503", busy},   {"seconds", seconds}};
  }
};

// `clients` threads calling `one(thread, i)` until `seconds` pass; each call returns its status.
template <class F>
Load run_load(int clients, double seconds, F one) {
  std::vector<Load> per(static_cast<std::size_t>(clients));
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      Load& l = per[static_cast<std::size_t>(c)];
      for (int i = 0; Clock::now() < end; ++i) {
        const auto t = Clock::now();
        const int status = one(c, i);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
        l.max_ms = std::max(l.max_ms, ms);
        if (status == 200)
          l.ms.push_back(ms);
        else if (status == 503)
          ++l.busy;
        else
          ++l.errors;
      }
    });
  for (auto& t : threads) t.join();
  Load all;
  all.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& l : per) {
    all.ms.insert(all.ms.end(), l.ms.begin(), l.ms.end());
    all.errors += l.errors;
    all.busy += l.busy;
    all.max_ms = std::max(all.max_ms, l.max_ms);
  }
  return all;
}

class Server {
 public:
  Server(const std::string& config, const std::string& dir) {
    const std::string port_file = dir + "/port";
    fs::remove(port_file);
    std::string cmd = "exec '" + std::string(GEORANK_CLI_PATH) + "' serve --config '" + config +
                      "' --port 0 --port-file '" + port_file + "' >'" + dir + "/serve.log' 2>&1";
    std::string sh = "/bin/sh", c = "-c";
    char* argv[] = {sh.data(), c.data(), cmd.data(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, argv, environ) != 0)
      throw std::runtime_error("spawn");
    for (int i = 0; i < 1200; ++i) {
      std::ifstream f(port_file);
      if (f >> port_) {
        httplib::Client cli("127.0.0.1", port_);
        if (auto r = cli.Get("/ready"); r && r->status == 200) return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("georank serve did not start; see " + dir + "/serve.log");
  }
  ~Server() {
    ::kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A manifest gallery of random unit embeddings (tile images are not needed for retrieval).
std::string make_gallery(const Options& o) {
  const fs::path dir = fs::absolute(fs::path(o.out) / fmt::format("gallery-{}x{}", o.tiles, o.dim));
  const fs::path npy = dir / "gallery.npy";
  if (fs::exists(npy)) return dir.string();
  fs::create_directories(dir / "data");
  std::string gallery = "tile_id,path,lat,lon,m_per_px\n";
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < o.tiles; ++i) {
    ids.push_back(fmt::format("tile{:06d}", i));
    gallery +=
        fmt::format("{},tiles/{}.png,{:.7f},{:.7f},0.114\n", ids.back(), ids.back(),
                    40.0 + static_cast<double>(i / 300) * 6e-4, -74.0 + static_cast<double>(i % 300) * 8e-4);
  }
  georank::write_file_atomic((dir / "data/gallery.csv").string(), gallery);
  georank::write_file_atomic((dir / "data/queries.csv").string(),
                             "query_id,path,lat,lon\nq0,q0.jpg,40.0,-74.0\n");
  georank::write_file_atomic((dir / "data/labels.csv").string(), "query_id,positive\nq0," + ids[0] + "\n");
  georank::Embeddings e;
  e.ids = ids;
  e.matrix.rows = o.tiles;
  e.matrix.cols = o.dim;
  e.matrix.values.resize(o.tiles * o.dim);
  std::mt19937 rng(7);
  std::normal_distribution<float> n;
  for (auto& v : e.matrix.values) v = n(rng);
  for (std::size_t r = 0; r < o.tiles; ++r) {
    double s = 0;
    for (float v : e.matrix.row(r)) s += static_cast<double>(v) * v;
    for (float& v : e.matrix.row(r)) v = static_cast<float>(v / std::sqrt(s));
  }
  georank::write_embeddings(npy.string(), e);
  return dir.string();
}

std::vector<std::vector<float>> random_queries(std::size_t n, std::size_t dim) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d;
  std::vector<std::vector<float>> q(n, std::vector<float>(dim));
  for (auto& row : q)
    for (auto& v : row) v = d(rng);
  return q;
}

std::string demo_dir(const Options& o) {
  const fs::path dir = fs::absolute(fs::path(o.out) / "demo");
  if (!fs::exists(dir / "run/summary.json")) {
    const std::string cmd = "'" + std::string(GEORANK_CLI_PATH) + "' demo --queries 8 --out '" +
                            dir.string() + "' >'" + fs::path(o.out).string() + "/demo.log' 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("georank demo failed");
  }
  return dir.string();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--tiles")
      o.tiles = std::stoul(next());
    else if (a == "--dim")
      o.dim = std::stoul(next());
    else if (a == "--clients")
      o.clients = std::stoi(next());
    else if (a == "--seconds")
      o.seconds = std::stod(next());
    else if (a == "--judge-seconds")
      o.judge_seconds = std::stod(next());
    else if (a == "--out")
      o.out = next();
    else if (a == "--json")
      o.json_path = next();
    else if (a == "--check")
      o.check = true;
    else {
      fmt::print(stderr, "unknown argument {}\n", a);
      return 2;
    }
  }
  fs::create_directories(o.out);
  fmt::print("serve throughput: {} tiles x {} (random unit embeddings), {} clients, {} s; RANDOM data\n",
             o.tiles, o.dim, o.clients, o.seconds);
  const std::string gallery = make_gallery(o);
  const std::string config = gallery + "/serve.toml";
  std::ofstream(config) << "out = \"" << gallery
                        << "/run\"\nrandom_weights = true\n[dataset]\ndataset = \"manifest:" << gallery
                        << "/data\"\n[retrieve]\nk = 10\n[serve]\ngallery_embeddings = \"" << gallery
                        << "/gallery.npy\"\nretrieval_queue = 1024\nconnections = " << o.clients + 14 << "\n";
  const auto queries = random_queries(256, o.dim);
  std::vector<std::string> bodies;
  for (const auto& q : queries) bodies.push_back(json{{"embedding", q}, {"k", 10}}.dump());

  json result = {{"tiles", o.tiles}, {"dim", o.dim}, {"clients", o.clients}, {"random_embeddings", true}};
  Load http;
  double rss_before = 0, rss_after = 0;
  {
    Server server(config, gallery);
    std::vector<std::unique_ptr<httplib::Client>> clients;
    for (int c = 0; c < o.clients; ++c) {
      clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", server.port()));
      clients.back()->set_keep_alive(true);
      clients.back()->set_read_timeout(60, 0);
    }
    const auto one = [&](int c, int i) {
      const auto r = clients[static_cast<std::size_t>(c)]->Post(
          "/v1/localize", bodies[static_cast<std::size_t>(c * 7 + i) % bodies.size()], "application/json");
      return r ? r->status : -1;
    };
    run_load(o.clients, std::min(2.0, o.seconds), one);  // warm-up
    rss_before = rss_mb(server.pid());
    http = run_load(o.clients, o.seconds, one);
    rss_after = rss_mb(server.pid());
  }
  result["http"] = http.to_json();
  result["rss_mb"] = {{"before", rss_before}, {"after", rss_after}};

  Load direct;
  {
    const georank::ServiceConfig cfg = georank::read_service_config(config);
    const georank::Localizer localizer(cfg);
    const auto one = [&](int c, int i) {
      georank::LocalizeRequest req;
      req.embedding = queries[static_cast<std::size_t>(c * 7 + i) % queries.size()];
      req.k = 10;
      const json r = localizer.localize(req);
      return r.contains("candidates") ? 200 : -1;
    };
    run_load(o.clients, std::min(2.0, o.seconds), one);
    direct = run_load(o.clients, o.seconds, one);
  }
  result["direct"] = direct.to_json();
  result["http_overhead"] = http.rps() > 0 ? direct.rps() / http.rps() : 0;
  fmt::print("  HTTP     {:8.1f} requests/s  p50 {:7.2f} ms  p99 {:7.2f} ms  errors {}  ({} requests)\n",
             http.rps(), http.pct(0.5), http.pct(0.99), http.errors + http.busy, http.ms.size());
  fmt::print("  library  {:8.1f} requests/s  p50 {:7.2f} ms  p99 {:7.2f} ms\n", direct.rps(), direct.pct(0.5),
             direct.pct(0.99));
  fmt::print("  HTTP overhead: library/HTTP throughput = {:.3f}\n", result["http_overhead"].get<double>());
  fmt::print("  server RSS: {:.1f} MB before, {:.1f} MB after\n", rss_before, rss_after);

  // A saturated judge: every client asks a SIMULATED judge (40 ms per judgment, queue of 4).
  Load judge;
  if (o.judge_seconds > 0) {
    const std::string demo = demo_dir(o);
    const std::string slow = fs::absolute(fs::path(o.out) / "slow.toml").string();
    std::ofstream(slow)
        << georank::read_file_text(demo + "/run/run.resolved.toml")
        << "\n[strategies.slow]\nstrategy = \"pairwise\"\njudge = \"simulated\"\njudge_delay_ms = 40\n"
        << "k = 3\n\n[serve]\njudge_queue = 4\nretrieval_queue = 1024\nconnections = " << o.clients + 14
        << "\n";
    Server server(slow, fs::absolute(o.out).string());
    std::string image;
    for (const auto& e : fs::recursive_directory_iterator(demo + "/vigor"))
      if (e.path().extension() == ".jpg") {
        image = georank::read_file_text(e.path().string());
        break;
      }
    std::atomic<std::int64_t> without_retry_after{0};
    // cpp-httplib 0.11's client, keeping connections alive while the server answers many 503s
    // at once, now and then reports a read error without any answer from the server (Python's
    // http.client under the same load sees none): counted apart, as transport errors.
    std::atomic<std::int64_t> transport{0};
    judge = run_load(o.clients, o.judge_seconds, [&](int, int) {
      httplib::Client cli("127.0.0.1", server.port());
      cli.set_read_timeout(60, 0);
      const auto r =
          cli.Post("/v1/localize", httplib::MultipartFormDataItems{{"image", image, "q.jpg", "image/jpeg"},
                                                                   {"strategy", "slow", "", ""},
                                                                   {"k", "3", "", ""}});
      if (r && r->status == 503 && r->get_header_value("Retry-After").empty()) ++without_retry_after;
      if (r && r->status != 200 && r->status != 503)
        fmt::print(stderr, "saturated judge: HTTP {} {}\n", r->status, r->body);
      if (!r) ++transport;
      return r ? r->status : -1;
    });
    result["judge_saturated"] = judge.to_json();
    result["judge_saturated"]["busy_without_retry_after"] = without_retry_after.load();
    result["judge_saturated"]["client_transport_errors"] = transport.load();
    fmt::print("  saturated judge: {} answered 200, {} got 503 (Retry-After), {} other; slowest {:.0f} ms\n",
               judge.ms.size(), judge.busy, judge.errors, judge.max_ms);
  }
  const std::string text = result.dump(2);
  if (!o.json_path.empty()) georank::write_file_atomic(o.json_path, text + "\n");
  fmt::print("{}\n", text);
  if (o.check) {
    bool ok = true;
    const auto fail = [&](const std::string& why) {
      fmt::print(stderr, "check failed: {}\n", why);
      ok = false;
    };
    if (http.errors + http.busy > 0) fail(fmt::format("{} HTTP requests failed", http.errors + http.busy));
    if (http.ms.empty()) fail("no HTTP request answered");
    if (rss_after > rss_before * 1.10 + 16)
      fail(fmt::format("RSS grew from {:.1f} to {:.1f} MB", rss_before, rss_after));
    if (o.judge_seconds > 0) {
      const auto n_transport = result["judge_saturated"]["client_transport_errors"].get<std::int64_t>();
      if (judge.errors > n_transport)
        fail(fmt::format("{} saturated-judge requests neither 200 nor 503", judge.errors - n_transport));
      if (n_transport * 100 > judge.busy + static_cast<std::int64_t>(judge.ms.size()))
        fail(fmt::format("{} client transport errors (over 1%)", n_transport));
      if (judge.busy == 0) fail("the saturated judge never answered 503");
      if (judge.ms.empty()) fail("the saturated judge answered nothing");
      if (result["judge_saturated"]["busy_without_retry_after"].get<std::int64_t>() > 0)
        fail("503 without Retry-After");
      if (judge.max_ms > 30000) fail("a saturated-judge request took over 30 s");
    }
    return ok ? 0 : 1;
  }
  return 0;
}
