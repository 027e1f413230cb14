// georank serve over real HTTP (cpp-httplib's client, raw sockets where a client must
// misbehave): every endpoint on the demo's outputs, every error status, the API key, the
// traversal suite, early refusals of oversized bodies, and SIGTERM's drain.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "georank/core/atomic_file.hpp"
#include "georank/core/base64.hpp"
#include "georank/data/dataset.hpp"
#include "support/serve_process.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string demo() {
  return test::serve_demo_dir();
}
std::string demo_config() {
  return demo() + "/run/run.resolved.toml";
}

// A query image of the demo's city, copied to a plain name.
std::string query_image_bytes() {
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + demo() + "/vigor"));
  return read_file_text(ds.queries.front().path);
}

// The demo config with a SIMULATED judge that takes `delay_ms` per judgment, and [serve] keys.
std::string slow_config(const std::string& name, int delay_ms, const std::string& serve) {
  const std::string dir = test::fresh_work_dir(name);
  const std::string path = dir + "/serve.toml";
  std::ofstream(path) << read_file_text(demo_config()) << "\n[strategies.slow]\nstrategy = \"pairwise\"\n"
                      << "judge = \"simulated\"\njudge_delay_ms = " << delay_ms << "\nk = 3\n\n[serve]\n"
                      << serve << "\n";
  return path;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

json body_of(const httplib::Result& r) {
  return r ? json::parse(r->body, nullptr, false) : json();
}

// The error kind of a JSON error body ("" when it is not one).
std::string kind_of(const httplib::Result& r) {
  const json j = body_of(r);
  return j.is_object() && j.contains("error") ? j["error"].value("kind", "") : "";
}

httplib::Result post_image(httplib::Client& cli, const std::string& bytes, const std::string& strategy = "",
                           const std::string& k = "") {
  httplib::MultipartFormDataItems items = {{"image", bytes, "query.jpg", "image/jpeg"}};
  if (!strategy.empty()) items.push_back({"strategy", strategy, "", ""});
  if (!k.empty()) items.push_back({"k", k, "", ""});
  return cli.Post("/v1/localize", items);
}

// Sends raw bytes on a fresh connection and returns what the server answers within 5 s.
std::string raw_exchange(int port, const std::string& request, bool half_close = false) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos && out.find('}') != std::string::npos) break;
  }
  close(fd);
  return out;
}

class ServeDemo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new test::ServeProcess(demo_config()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static httplib::Client client() {
    httplib::Client cli("127.0.0.1", server_->port());
    cli.set_read_timeout(120, 0);
    return cli;
  }
  static test::ServeProcess* server_;
};
test::ServeProcess* ServeDemo::server_ = nullptr;

TEST_F(ServeDemo, HealthReadyOpenapiAndInfoDescribeTheLoadedService) {
  auto cli = client();
  EXPECT_EQ(body_of(cli.Get("/health"))["status"], "ok");
  EXPECT_EQ(body_of(cli.Get("/ready"))["ready"], true);
  const json api = body_of(cli.Get("/openapi.json"));
  EXPECT_EQ(api["openapi"], "3.0.3");
  for (const char* p :
       {"/v1/localize", "/v1/info", "/v1/tiles/{id}", "/v1/tiles/{id}/meta", "/v1/runs", "/v1/runs/{run}",
        "/v1/runs/{run}/queries", "/v1/runs/{run}/queries/{id}", "/health", "/ready", "/metrics"})
    EXPECT_TRUE(api["paths"].contains(p)) << p;
  const json info = body_of(cli.Get("/v1/info"));
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + demo() + "/vigor"));
  EXPECT_EQ(info["gallery_size"], ds.gallery.size());
  EXPECT_EQ(info["strategies"].size(), 5u);
  EXPECT_EQ(info["api_key_required"], false);
  ASSERT_FALSE(info["caveats"].empty());
  EXPECT_NE(info["caveats"][0].get<std::string>().find("RANDOM-WEIGHT"), std::string::npos);
}

TEST_F(ServeDemo, LocalizeReturnsTheTopKWithCentresAndTheEstimateIsTheTop1) {
  auto cli = client();
  const auto r = post_image(cli, query_image_bytes(), "", "4");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["candidates"].size(), 4u);
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_GE(j["candidates"][i - 1]["score"].get<double>(), j["candidates"][i]["score"].get<double>());
  EXPECT_TRUE(j["reranked"].is_null());
  EXPECT_EQ(j["estimate"]["tile"], j["candidates"][0]["tile"]);
  EXPECT_EQ(j["estimate"]["lat"], j["candidates"][0]["center"]["lat"]);
  EXPECT_EQ(j["estimate"]["source"], "retrieval");
  EXPECT_EQ(j["orientation"]["known"], false);
  const json& b = j["candidates"][0]["bounds"];
  const double lat = j["candidates"][0]["center"]["lat"];
  EXPECT_LT(b[0][0].get<double>(), lat);
  EXPECT_GT(b[1][0].get<double>(), lat);
  for (const char* t : {"decode", "embed", "search", "total"}) EXPECT_TRUE(j["timings_ms"].contains(t)) << t;
}

TEST_F(ServeDemo, JsonBase64RawImageAndMultipartAnswerTheSame) {
  auto cli = client();
  const std::string bytes = query_image_bytes();
  const json a = body_of(post_image(cli, bytes));
  const std::vector<std::uint8_t> raw(bytes.begin(), bytes.end());
  const json b =
      body_of(cli.Post("/v1/localize", json{{"image", base64_encode(raw)}}.dump(), "application/json"));
  const json c = body_of(cli.Post("/v1/localize", bytes, "image/jpeg"));
  ASSERT_TRUE(a.contains("candidates")) << a.dump();
  EXPECT_EQ(a["candidates"], b["candidates"]);
  EXPECT_EQ(a["candidates"], c["candidates"]);
}

TEST_F(ServeDemo, LocalizeWithAStrategyRerankesWithEvidenceAndTheCliAnswersTheSame) {
  auto cli = client();
  const std::string bytes = query_image_bytes();
  const auto r = post_image(cli, bytes, "pointwise-yesno", "5");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["reranked"].size(), 5u);
  EXPECT_EQ(j["strategy"], "pointwise-yesno");
  EXPECT_TRUE(j["reranked"][0]["evidence"].is_object());
  EXPECT_EQ(j["estimate"]["tile"], j["reranked"][0]["tile"]);
  EXPECT_EQ(j["estimate"]["source"], "rerank");
  EXPECT_EQ(j["judge"]["name"], "llama.cpp");
  // The same library call from the command line.
  const std::string dir = test::fresh_work_dir("serve_localize_cli");
  const std::string image = dir + "/query.jpg";
  std::ofstream(image, std::ios::binary) << bytes;
  const auto out = test::run_command(std::string(GEORANK_CLI_PATH) + " localize --config " +
                                     test::shell_quote(demo_config()) + " --image " +
                                     test::shell_quote(image) + " --k 5 --strategy pointwise-yesno --json");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json cli_answer = json::parse(out.out);
  json http_answer = j;
  cli_answer.erase("timings_ms");
  http_answer.erase("timings_ms");
  for (json* a : {&cli_answer, &http_answer}) {
    (*a)["judge"].erase("computed");  // the HTTP call filled the cache the CLI then reads
    (*a)["judge"].erase("cached");
  }
  EXPECT_EQ(cli_answer, http_answer);
}

TEST_F(ServeDemo, TilesServeTheirImageAndMetadata) {
  auto cli = client();
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + demo() + "/vigor"));
  const Tile& t = ds.gallery.front();
  const auto img = cli.Get("/v1/tiles/" + t.id);
  ASSERT_TRUE(img);
  EXPECT_EQ(img->status, 200);
  EXPECT_EQ(img->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(img->body, read_file_text(t.path));
  const json meta = body_of(cli.Get("/v1/tiles/" + t.id + "/meta"));
  EXPECT_EQ(meta["id"], t.id);
  EXPECT_DOUBLE_EQ(meta["center"]["lat"].get<double>(), t.center->lat);
  EXPECT_EQ(meta["city"], t.city);
}

TEST_F(ServeDemo, RunsQueriesAndOneQueryBrowseTheDemoRun) {
  auto cli = client();
  const json runs = body_of(cli.Get("/v1/runs"));
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["id"], "run");
  const json run = body_of(cli.Get("/v1/runs/run"));
  EXPECT_EQ(run["n_queries"], 8);
  EXPECT_EQ(run["strategy_order"].size(), 5u);
  EXPECT_FALSE(run["figures"].empty());
  EXPECT_TRUE(run["figures"][0]["spec"].contains("$schema"));
  // Pages cover every query once; the filters' totals are the report's counts.
  std::set<std::string> seen;
  for (int offset = 0; offset < 8; offset += 3) {
    const json page = body_of(cli.Get("/v1/runs/run/queries?offset=" + std::to_string(offset) + "&limit=3"));
    EXPECT_EQ(page["total"], 8);
    for (const auto& q : page["queries"]) seen.insert(q["id"].get<std::string>());
  }
  EXPECT_EQ(seen.size(), 8u);
  for (const auto& name : run["strategy_order"]) {
    const json& s = run["strategies"][name.get<std::string>()];
    std::int64_t sum = 0;
    for (const char* f : {"fixed", "broken", "kept", "missed"}) {
      const json page = body_of(
          cli.Get("/v1/runs/run/queries?limit=100&strategy=" + name.get<std::string>() + "&filter=" + f));
      EXPECT_EQ(page["total"], s[f]) << name << " " << f;
      sum += page["total"].get<std::int64_t>();
    }
    EXPECT_EQ(sum, 8);
  }
  // One query: the labels mark the positive, every strategy has its order and evidence.
  const Dataset ds = load_dataset(parse_dataset_spec("vigor:" + demo() + "/vigor"));
  const std::string qid = *seen.begin();
  const json q = body_of(cli.Get("/v1/runs/run/queries/" + url_encode(qid)));
  ASSERT_EQ(q["id"], qid) << q.dump();
  EXPECT_EQ(q["positive"], ds.query(qid).positive.tile_id);
  for (const auto& c : q["candidates"])
    EXPECT_EQ(c["positive"].get<bool>(), c["tile"] == q["positive"]) << c.dump();
  for (const auto& name : run["strategy_order"]) {
    const json& s = q["strategies"][name.get<std::string>()];
    EXPECT_FALSE(s["ranked"].empty()) << name;
    EXPECT_TRUE(s["ranked"][0]["evidence"].is_object()) << name;
  }
  const auto image = cli.Get(q["image_url"].get<std::string>());
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->body, read_file_text(ds.query(qid).path));
  const auto tile = cli.Get(q["candidates"][0]["image_url"].get<std::string>());
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->status, 200);
}

TEST_F(ServeDemo, MetricsCountRequestsByRouteAndStatusInPrometheusFormat) {
  auto cli = client();
  cli.Get("/v1/tiles/no-such-tile");
  post_image(cli, query_image_bytes());
  const auto m = cli.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  for (const char* line : {"georank_http_requests_total{route=\"/v1/tiles/{id}\",status=\"404\"}",
                           "georank_http_requests_total{route=\"/v1/localize\",status=\"200\"}",
                           "georank_http_request_duration_seconds_bucket{route=\"/v1/localize\",le=\"+Inf\"}",
                           "georank_queue_depth{queue=\"judge\"}", "georank_judge_calls_total",
                           "georank_judge_cache_hits_total", "georank_searched_queries_total"})
    EXPECT_NE(m->body.find(line), std::string::npos) << line;
}

TEST_F(ServeDemo, BadInputGetsTheRightStatusAndAJsonErrorBody) {
  auto cli = client();
  const std::string bytes = query_image_bytes();
  struct Case {
    const char* what;
    httplib::Result r;
    int status;
    const char* kind;
  };
  std::vector<Case> cases;
  cases.push_back({"k out of range", post_image(cli, bytes, "", "100000"), 400, "invalid_argument"});
  cases.push_back({"k not a number", post_image(cli, bytes, "", "ten"), 400, "invalid_argument"});
  cases.push_back({"unknown strategy", post_image(cli, bytes, "no-such"), 400, "invalid_argument"});
  cases.push_back(
      {"bad JSON", cli.Post("/v1/localize", "{nope", "application/json"), 400, "invalid_argument"});
  cases.push_back({"bad base64", cli.Post("/v1/localize", R"({"image":"@@@@"})", "application/json"), 400,
                   "invalid_argument"});
  cases.push_back({"short embedding",
                   cli.Post("/v1/localize", R"({"embedding":[1,2,3]})", "application/json"), 400,
                   "invalid_argument"});
  cases.push_back({"image and embedding",
                   cli.Post("/v1/localize", R"({"embedding":[1],"image":"QUJD"})", "application/json"), 400,
                   "invalid_argument"});
  cases.push_back({"no image field",
                   cli.Post("/v1/localize", httplib::MultipartFormDataItems{{"k", "3", "", ""}}), 400,
                   "invalid_argument"});
  cases.push_back(
      {"corrupt JPEG", post_image(cli, bytes.substr(0, 4) + std::string(300, 'x')), 400, "invalid_argument"});
  cases.push_back(
      {"text body", cli.Post("/v1/localize", "hello", "text/plain"), 415, "unsupported_media_type"});
  cases.push_back({"not an image", post_image(cli, "plain text, not pixels"), 415, "unsupported_media_type"});
  // A PNG header declaring 100000 x 100000 pixels: refused before decoding.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\x02\0\0\0", 29);
  png += std::string(4, '\0');
  cases.push_back({"too many pixels", post_image(cli, png), 413, "too_large"});
  cases.push_back({"unknown run", cli.Get("/v1/runs/nope"), 404, "not_found"});
  cases.push_back({"unknown query", cli.Get("/v1/runs/run/queries/nope"), 404, "not_found"});
  cases.push_back({"unknown tile meta", cli.Get("/v1/tiles/nope/meta"), 404, "not_found"});
  cases.push_back({"bad filter", cli.Get("/v1/runs/run/queries?filter=odd"), 400, "invalid_argument"});
  cases.push_back({"bad limit", cli.Get("/v1/runs/run/queries?limit=0"), 400, "invalid_argument"});
  cases.push_back({"unknown route", cli.Get("/v1/nothing-here"), 404, "not_found"});
  for (const auto& c : cases) {
    ASSERT_TRUE(c.r) << c.what;
    EXPECT_EQ(c.r->status, c.status) << c.what << ": " << c.r->body;
    EXPECT_EQ(kind_of(c.r), c.kind) << c.what << ": " << c.r->body;
    EXPECT_EQ(c.r->get_header_value("Content-Type"), "application/json") << c.what;
  }
}

TEST_F(ServeDemo, AOneGigabyteBodyIsRefusedWith413BeforeItIsRead) {
  const auto t0 = std::chrono::steady_clock::now();
  // Headers announce 1 GiB; only a few bytes follow. The answer must come without the rest.
  const std::string answer = raw_exchange(server_->port(),
                                          "POST /v1/localize HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                          "image/jpeg\r\nContent-Length: 1073741824\r\n\r\n"
                                          "\xff\xd8\xff");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("too_large"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_LT(s, 4.0);
  // curl's way: Expect: 100-continue gets the 413 instead of "100 Continue".
  const std::string expect = raw_exchange(
      server_->port(),
      "POST /v1/localize HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nExpect: 100-continue\r\n"
      "Content-Length: 1073741824\r\n\r\n");
  EXPECT_EQ(expect.rfind("HTTP/1.1 413", 0), 0u) << expect;
}

TEST_F(ServeDemo, MalformedMultipartAndAClientGoneMidUploadLeaveTheServiceWorking) {
  const std::string body = "--xx\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc";  // no end
  const std::string malformed = raw_exchange(
      server_->port(),
      "POST /v1/localize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
      "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(malformed.rfind("HTTP/1.1 400", 0), 0u) << malformed;
  // 10 clients announce a 1 MB upload, send 1 KB and hang up.
  for (int i = 0; i < 10; ++i)
    raw_exchange(server_->port(),
                 "POST /v1/localize HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: "
                 "1000000\r\n\r\n" +
                     std::string(1000, 'x'),
                 true);
  auto cli = client();
  const auto r = post_image(cli, query_image_bytes());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServeDemo, TraversalAttemptsAreRefused) {
  const std::string secret = read_file_text("/etc/hostname");
  for (const char* path :
       {"/../../../../etc/hostname", "/%2e%2e/%2e%2e/%2e%2e/etc/hostname", "/..%2f..%2f..%2fetc%2fhostname",
        "/assets/../../../../etc/hostname", "//etc/hostname", "/%2Fetc%2Fhostname", "/.%2e/.%2e/etc/hostname",
        "/v1/tiles/..%2f..%2f..%2f..%2fetc%2fhostname", "/v1/tiles/%2Fetc%2Fhostname",
        "/v1/runs/..%2f..%2f..%2fetc/queries", "/v1/runs/run/images/tile/..%2f..%2f..%2fetc%2fhostname",
        "/v1/runs/run/images/query/%2Fetc%2Fhostname", "/index.html%00.png", "/..\\..\\etc\\hostname"}) {
    const std::string answer = raw_exchange(
        server_->port(), std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.rfind("HTTP/1.1 404", 0) == 0 || answer.rfind("HTTP/1.1 400", 0) == 0) << path << "\n"
                                                                                              << answer;
    if (!secret.empty()) {
      EXPECT_EQ(answer.find(secret), std::string::npos) << path;
    }
  }
}

TEST(Serve, AnApiKeyGuardsTheApiAndMetricsButNotHealth) {
  const std::string dir = test::fresh_work_dir("serve_api_key");
  const std::string key_file = dir + "/key";
  std::ofstream(key_file) << "s3cret-key\n";
  test::ServeProcess server(demo_config(), {"--api-key-file", key_file});
  httplib::Client cli("127.0.0.1", server.port());
  const auto none = cli.Get("/v1/info");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(kind_of(none), "unauthorized");
  EXPECT_NE(none->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
  const auto wrong = cli.Get("/metrics", {{"Authorization", "Bearer s3cret-kez"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(cli.Get("/health")->status, 200);
  const auto right = cli.Get("/v1/info", {{"Authorization", "Bearer s3cret-key"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(body_of(right)["api_key_required"], true);
  // An unauthorised upload is refused before its body is read.
  const std::string big = raw_exchange(
      server.port(),
      "POST /v1/localize HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n");
  EXPECT_EQ(big.rfind("HTTP/1.1 401", 0), 0u) << big;
  // The key is never logged.
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_EQ(server.log().find("s3cret"), std::string::npos) << server.log();
}

TEST(Serve, TheKeyComesFromTheEnvironmentToo) {
  test::ServeProcess server(demo_config(), {}, {{"GEORANK_API_KEY", "from-env"}});
  httplib::Client cli("127.0.0.1", server.port());
  EXPECT_EQ(cli.Get("/v1/runs")->status, 401);
  EXPECT_EQ(cli.Get("/v1/runs", {{"Authorization", "Bearer from-env"}})->status, 200);
}

TEST(Serve, SymlinksOutOfTheWebRootAreNotServed) {
  const std::string dir = test::fresh_work_dir("serve_symlink");
  fs::create_directories(dir + "/web/assets");
  std::ofstream(dir + "/web/index.html") << "<!doctype html><title>t</title>";
  std::ofstream(dir + "/web/assets/app.js") << "console.log(1)";
  fs::create_symlink("/etc/hostname", dir + "/web/assets/leak.js");
  fs::create_directory_symlink("/etc", dir + "/web/etc");
  test::ServeProcess server(demo_config(), {"--web-root", dir + "/web"});
  httplib::Client cli("127.0.0.1", server.port());
  const auto page = cli.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(cli.Get("/assets/app.js")->status, 200);
  EXPECT_EQ(cli.Get("/assets/leak.js")->status, 404);
  EXPECT_EQ(cli.Get("/etc/hostname")->status, 404);
}

TEST(Serve, AFullJudgeQueueAnswers503WithRetryAfterAndNeverHangs) {
  // One judge job at a time, one waiting: of 6 concurrent reranks at least 3 are refused.
  test::ServeProcess server(slow_config("serve_busy", 150, "judge_queue = 1"));
  const std::string bytes = query_image_bytes();
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (int i = 0; i < 6; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      httplib::Client cli("127.0.0.1", server.port());
      cli.set_read_timeout(60, 0);
      const auto r = post_image(cli, bytes, "slow", "3");
      return r ? std::pair{r->status, r->get_header_value("Retry-After")} : std::pair{-1, std::string()};
    }));
  int ok = 0, busy = 0;
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    const auto [status, retry] = a.get();
    if (status == 200) ++ok;
    if (status == 503) {
      ++busy;
      EXPECT_FALSE(retry.empty());
    }
  }
  EXPECT_EQ(ok + busy, 6);
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 3);
}

TEST(Serve, ARequestPastItsDeadlineGets504) {
  // 3 candidates in both orders: 6 judgments of 400 ms, past a 1 s deadline.
  test::ServeProcess server(slow_config("serve_timeout", 400, "request_timeout_s = 1.0"));
  httplib::Client cli("127.0.0.1", server.port());
  cli.set_read_timeout(30, 0);
  const auto r = post_image(cli, query_image_bytes(), "slow", "3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_EQ(kind_of(r), "timeout");
}

TEST(Serve, SigtermDrainsInFlightRequestsRefusesNewOnesAndExitsZero) {
  test::ServeProcess server(slow_config("serve_drain", 200, ""));
  const std::string bytes = query_image_bytes();
  auto slow = std::async(std::launch::async, [&] {
    httplib::Client cli("127.0.0.1", server.port());
    cli.set_read_timeout(60, 0);
    const auto r = post_image(cli, bytes, "slow", "3");
    return r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the rerank is running
  ::kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  httplib::Client late("127.0.0.1", server.port());
  const auto refused = late.Get("/v1/info");
  // A request during the drain is refused: 503 while the socket is open, no answer after.
  if (refused) {
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(kind_of(refused), "draining");
  }
  EXPECT_EQ(slow.get(), 200);
  EXPECT_EQ(server.wait(30), 0) << server.log();
}

}  // namespace
}  // namespace georank
