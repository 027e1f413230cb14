#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
#include "dataset_options.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/recorded_time.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/image.hpp"
#include "georank/retrieval/retrieval.hpp"

namespace georank::cli {
namespace {

struct RetrieveOptions {
  DatasetSpec data;
  RetrieveConfig config;
  std::string out;
  std::string import_csv;
  std::string shard;
  bool k_given = false;
  bool check_only = false;
};

void run_retrieve(RetrieveOptions& o) {
  {
    const std::vector<PathArgument> inputs = {{"--query-embeddings", o.config.query_embeddings},
                                              {"--gallery-embeddings", o.config.gallery_embeddings},
                                              {"--gallery-index", o.config.gallery_index},
                                              {"--import-csv", o.import_csv}};
    check_outputs(with_sidecar("--out", o.out), inputs);
  }
  Dataset ds = load_dataset(o.data);
  apply_shard(ds, parse_shard(o.shard));
  nlohmann::json meta;
  std::vector<QueryRanking> rankings;
  if (!o.import_csv.empty()) {
    rankings = read_candidates_csv(o.import_csv);
    std::erase_if(rankings, [&](const QueryRanking& r) {
      const bool keep = ds.query_by_id.contains(r.query_id);
      if (!keep && ds.spec.subset == 0 && ds.shard.whole())
        throw Error(ErrorKind::not_found,
                    o.import_csv + ": query '" + r.query_id + "' is not in the dataset");
      return !keep;
    });
    if (o.k_given)
      for (auto& r : rankings)
        if (r.candidates.size() > o.config.k) r.candidates.resize(o.config.k);
    annotate(rankings, ds);
    meta = {{"kind", "import"},
            {"dataset", to_json(ds.spec)},
            {"n_queries", rankings.size()},
            {"n_queries_before_subset", ds.n_queries_total},
            {"subset", {{"n", ds.spec.subset}, {"seed", ds.spec.seed}}},
            {"gallery_size", ds.gallery.size()},
            {"k", o.k_given ? nlohmann::json(o.config.k) : nlohmann::json()},
            {"source", {{"csv", o.import_csv}, {"sha256", sha256_file(o.import_csv)}}},
            {"model_fingerprint", nullptr}};
    record_shard(meta, ds);
  } else {
    if (o.config.query_embeddings.empty() ||
        (o.config.gallery_embeddings.empty() && o.config.gallery_index.empty()))
      throw Error(ErrorKind::invalid_argument,
                  "retrieve needs --query-embeddings and --gallery-embeddings (or --gallery-index), or "
                  "--import-csv");
    auto res = retrieve(ds, o.config);
    rankings = std::move(res.rankings);
    meta = std::move(res.meta);
  }
  meta["output"] = o.out;
  meta["created_utc"] = recorded_utc_now();
  meta["georank_version"] = "0.1.0";
  write_retrieval_output(rankings, meta, o.out);
  const std::string meta_path = meta_path_for(o.out);
  std::size_t with_positive = 0;
  for (const auto& r : rankings)
    for (const auto& c : r.candidates) with_positive += c.positive ? 1 : 0;
  log_info("wrote {} rankings to {} ({} with the positive among the candidates); metadata in {}",
           rankings.size(), o.out, with_positive, meta_path);
}

}  // namespace

void add_retrieve(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("retrieve", "Top-K aerial tiles per query from embeddings (FAISS), or import a CSV");
  auto o = std::make_shared<RetrieveOptions>();
  add_dataset_options(*cmd, o->data);
  auto flags = bind_flags(*cmd, o->config, {{"persist_index", "!--no-persist-index"}});
  flags.at("query_embeddings")->check(CLI::ExistingFile);
  flags.at("gallery_embeddings")->check(CLI::ExistingFile);
  flags.at("gallery_index")->check(CLI::ExistingFile);
  flags.at("k")->check(CLI::PositiveNumber);
  flags.at("threads")->check(CLI::Range(0, kMaxThreads));
  cmd->add_option("--import-csv", o->import_csv,
                  "Import candidates from CSV (query_id,tile_id,score) instead")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Output rankings JSONL (sidecar: <out>.meta.json)")->required();
  add_shard_option(*cmd, o->shard, "the queries (the whole gallery is searched)");
  add_check_only_flag(*cmd, o->check_only);
  cmd->callback([o, cmd] {
    o->k_given = cmd->count("--k") > 0;
    if (!o->check_only) run_retrieve(*o);
  });
}

}  // namespace georank::cli
