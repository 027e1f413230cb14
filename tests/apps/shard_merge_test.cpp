// Scale-out: `--shard I/N` on embed, retrieve, rerank and run, then `georank merge`, writes
// what one machine writes. With GEORANK_REPRODUCIBLE=1 (no wall-clock facts in the outputs)
// every file is compared byte for byte with the unsharded run's; SQLite caches row by row.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/serve_process.hpp"
#include "support/subprocess.hpp"
#include "support/work_dir.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_sqlite(const fs::path& p) {
  return bytes_of(p).rfind(std::string("SQLite format 3\0", 16), 0) == 0;
}

// Every row of every table but the time each was stored, sorted: a cache's content.
std::vector<std::string> sqlite_rows(const fs::path& p) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK) << p;
  std::vector<std::string> tables, rows;
  const auto query = [&](const std::string& sql, auto&& on_row) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) on_row(st);
    sqlite3_finalize(st);
  };
  query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", [&](sqlite3_stmt* st) {
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  });
  for (const auto& t : tables)
    query("SELECT * FROM \"" + t + "\"", [&](sqlite3_stmt* st) {
      std::string row = t;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (std::string(sqlite3_column_name(st, c)) == "created_at") continue;
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(st, c));
        row += "|" + std::string(blob == nullptr ? "" : blob,
                                 static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
      }
      rows.push_back(std::move(row));
    });
  sqlite3_close(db);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The relative paths of the files under `dir` (SQLite's -wal/-shm files left out).
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && !name.ends_with("-wal") && !name.ends_with("-shm"))
      out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `joined` holds the same files as `single`, each with the same bytes (caches: the same rows).
void expect_same_outputs(const fs::path& single, const fs::path& joined) {
  const auto files = files_under(single);
  ASSERT_EQ(files, files_under(joined)) << single << " vs " << joined;
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    if (is_sqlite(single / f)) {
      EXPECT_EQ(sqlite_rows(single / f), sqlite_rows(joined / f)) << f;
    } else {
      EXPECT_TRUE(bytes_of(single / f) == bytes_of(joined / f)) << f << " differs";
    }
  }
}

const std::string& cli() {
  static const std::string c = std::string("GEORANK_REPRODUCIBLE=1 GEORANK_QUIET=1 ") + GEORANK_CLI_PATH;
  return c;
}

test::ProcessResult in_dir(const fs::path& dir, const std::string& args) {
  fs::create_directories(dir);
  return test::run_command("cd " + test::shell_quote(dir.string()) + " && " + cli() + " " + args);
}

void expect_ok(const test::ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ShardMerge, FourShardRunsMergedAreByteIdenticalToTheSingleRunAndItsReport) {
  const fs::path demo = test::serve_demo_dir();
  const fs::path dir = test::fresh_work_dir("shard_merge_run");
  const fs::path config = dir / "run.toml";
  // Relative paths: the single run and each shard run in their own folder, with a cache of
  // their own (judgments.sqlite beside the run folder).
  std::ofstream(config) << "out = \"run\"\nrandom_weights = true\n[dataset]\ndataset = \"vigor:"
                        << (demo / "vigor").string() << "\"\ncities = \"Chicago\"\n[embed]\nmodel = \""
                        << (demo / "models/encoder.onnx").string() << "\"\nthreads = 1\n[retrieve]\nk = 6\n"
                        << "[rerank]\nmodel = \"" << (demo / "models/text.gguf").string() << "\"\nmmproj = \""
                        << (demo / "models/mmproj.gguf").string()
                        << "\"\nthreads = 1\ncache = \"judgments.sqlite\"\nk = 4\nno-progress = true\n"
                        << "[strategies.knockout]\nstrategy = \"pairwise\"\naggregate = \"knockout\"\n"
                        << "[strategies.yesno]\nstrategy = \"pointwise-yesno\"\n"
                        << "[strategies.sim-bt]\njudge = \"simulated\"\nmodel = \"\"\nmmproj = \"\"\n"
                        << "strategy = \"pairwise\"\naggregate = \"all-pairs-bt\"\norders = \"both\"\n";
  const std::string run = "run --config " + test::shell_quote(config.string());
  expect_ok(in_dir(dir / "one", run));
  for (int i = 0; i < 4; ++i)
    expect_ok(in_dir(dir / ("shard" + std::to_string(i)), run + " --shard " + std::to_string(i) + "/4"));
  // Each shard holds its own 2 of the 8 queries.
  std::ifstream shard0(dir / "shard0/run/candidates.jsonl");
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(shard0), std::istreambuf_iterator<char>(), '\n'), 2);

  // Merged where the single run was, from its shards in any order.
  fs::rename(dir / "one/run", dir / "one/run.single");
  const auto merged =
      in_dir(dir / "one", "merge --out run ../shard2/run ../shard0/run ../shard3/run ../shard1/run");
  expect_ok(merged);
  expect_same_outputs(dir / "one/run.single", dir / "one/run");
  EXPECT_TRUE(fs::exists(dir / "one/run/report/report.html"));

  // The shards' judgment caches joined hold the single run's judgments.
  expect_ok(in_dir(dir / "one",
                   "merge --out joined.sqlite ../shard0/judgments.sqlite ../shard1/judgments.sqlite "
                   "../shard2/judgments.sqlite ../shard3/judgments.sqlite"));
  EXPECT_EQ(sqlite_rows(dir / "one/judgments.sqlite"), sqlite_rows(dir / "one/joined.sqlite"));

  // An incomplete set is an error that names the missing shards, and writes nothing.
  const auto partial = in_dir(dir / "one", "merge --out partial ../shard0/run ../shard3/run");
  EXPECT_EQ(partial.exit_code, 2);
  EXPECT_THAT(partial.err, HasSubstr("missing shards 1/4, 2/4 of 4"));
  EXPECT_FALSE(fs::exists(dir / "one/partial"));
  const auto twice =
      in_dir(dir / "one", "merge --out twice ../shard0/run ../shard0/run ../shard1/run ../shard2/run");
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_THAT(twice.err, HasSubstr("shard given twice: 0/4"));
  const auto unsharded = in_dir(dir / "one", "merge --out x run.single ../shard1/run");
  EXPECT_EQ(unsharded.exit_code, 2);
  EXPECT_THAT(unsharded.err, HasSubstr("is not a shard's output"));
}

TEST(ShardMerge, EachStepShardedAndMergedIsByteIdenticalToTheStepOnOneMachine) {
  const fs::path demo = test::serve_demo_dir();
  const fs::path dir = test::fresh_work_dir("shard_merge_steps");
  const std::string dataset =
      "--dataset " + test::shell_quote("vigor:" + (demo / "vigor").string()) + " --cities Chicago ";
  const std::string models = (demo / "models").string();
  const auto embed = "embed " + dataset + "--model " + models + "/encoder.onnx --threads 1 --out-dir emb";
  const std::string emb = (dir / "emb").string();
  const auto retrieve = "retrieve " + dataset + "--query-embeddings " + emb +
                        "/queries.npy --gallery-embeddings " + emb + "/gallery.npy --k 6 --out cands.jsonl";
  const std::string cands = (dir / "one/cands.jsonl").string();
  const auto rerank =
      "rerank " + dataset + "--candidates " + cands + " --model " + models + "/text.gguf --mmproj " + models +
      "/mmproj.gguf --threads 1 --k 4 --no-progress " +
      "--strategy pairwise --aggregate all-pairs-bt --orders both --cache j.sqlite --out r.jsonl";
  expect_ok(in_dir(dir, embed));  // the embeddings every retrieve below reads
  expect_ok(in_dir(dir / "one", embed));
  expect_ok(in_dir(dir / "one", retrieve));
  expect_ok(in_dir(dir / "one", rerank));
  for (int i = 0; i < 3; ++i) {
    const fs::path s = dir / ("shard" + std::to_string(i));
    const std::string flag = " --shard " + std::to_string(i) + "/3";
    expect_ok(in_dir(s, embed + flag));
    expect_ok(in_dir(s, retrieve + flag));
    expect_ok(in_dir(s, rerank + flag));
  }
  fs::rename(dir / "one", dir / "single");
  expect_ok(in_dir(dir / "one", "merge --out emb ../shard1/emb ../shard0/emb ../shard2/emb"));
  expect_ok(
      in_dir(dir / "one",
             "merge --out cands.jsonl ../shard0/cands.jsonl ../shard1/cands.jsonl ../shard2/cands.jsonl"));
  expect_ok(in_dir(dir / "one", "merge --out r.jsonl ../shard2/r.jsonl ../shard1/r.jsonl ../shard0/r.jsonl"));
  expect_ok(
      in_dir(dir / "one", "merge --out j.sqlite ../shard0/j.sqlite ../shard1/j.sqlite ../shard2/j.sqlite"));
  expect_same_outputs(dir / "single", dir / "one");

  // Shards of different settings do not join: the field that differs is named.
  expect_ok(in_dir(dir / "other", retrieve + " --shard 1/3 --normalize"));
  const auto mixed = in_dir(dir / "one",
                            "merge --out mixed.jsonl ../shard0/cands.jsonl ../other/cands.jsonl "
                            "../shard2/cands.jsonl");
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_THAT(mixed.err, HasSubstr("differ in field"));
  EXPECT_FALSE(fs::exists(dir / "one/mixed.jsonl"));
  const auto bad = in_dir(dir / "one", retrieve + " --shard 3/3");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("I must be less than N"));
}

}  // namespace
}  // namespace georank
