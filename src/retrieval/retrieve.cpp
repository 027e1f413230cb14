#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/recorded_time.hpp"
#include "georank/core/sha256.hpp"
#include "georank/data/image.hpp"
#include "georank/retrieval/retrieval.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Rows of `e` in the order of `wanted` (moved out of `e` when already in that order, so a
// VIGOR-sized gallery is not copied); throws naming missing ids.
// A NaN, an infinity or a zero vector has no direction: its similarities are meaningless, and
// FAISS drops NaN scores silently (an empty candidate list). Refuse it, naming the row.
void check_usable_rows(const FloatMatrix& m, const std::vector<std::string>& ids, const std::string& path) {
  for (std::size_t r = 0; r < m.rows; ++r) {
    double norm2 = 0;
    for (const float v : m.row(r)) {
      if (!std::isfinite(v))
        throw Error(ErrorKind::invalid_argument, fmt::format("{}: row {} (id '{}') holds a {} value", path, r,
                                                             ids[r], std::isnan(v) ? "NaN" : "infinite"));
      norm2 += static_cast<double>(v) * v;
    }
    if (norm2 == 0)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{}: row {} (id '{}') is a zero vector", path, r, ids[r]));
  }
}

FloatMatrix select_rows(Embeddings& e, const std::vector<std::string>& wanted, const std::string& what,
                        const std::string& path) {
  if (e.ids == wanted) return std::move(e.matrix);
  std::unordered_map<std::string, std::size_t> row_of;
  row_of.reserve(e.ids.size());
  for (std::size_t i = 0; i < e.ids.size(); ++i) row_of.emplace(e.ids[i], i);
  FloatMatrix m;
  m.rows = wanted.size();
  m.cols = e.matrix.cols;
  m.values.resize(m.rows * m.cols);
  std::vector<std::string> missing;
  for (std::size_t r = 0; r < wanted.size(); ++r) {
    const auto it = row_of.find(wanted[r]);
    if (it == row_of.end()) {
      missing.push_back(wanted[r]);
      continue;
    }
    const auto src = e.matrix.row(it->second);
    std::copy(src.begin(), src.end(), m.values.begin() + static_cast<std::ptrdiff_t>(r * m.cols));
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, missing.size()); ++i)
      list += (i ? ", '" : "'") + missing[i] + "'";
    throw Error(ErrorKind::not_found,
                fmt::format("{}: {} of {} {} have no embedding (e.g. {})", ids_path_for(path), missing.size(),
                            wanted.size(), what, list));
  }
  return m;
}

// `georank embed` describes each file it wrote in its sidecar (row count, SHA-256): a file that
// does not match came from another run (a failed or interrupted one), and is refused.
void check_sidecar_matches(const std::string& path, const json& info, const std::string& side) {
  const json& meta = info.at("meta");
  if (!meta.is_object()) return;
  const std::string name = fs::path(path).filename().string();
  for (const char* key : {"queries", "gallery"}) {
    const auto it = meta.find(key);
    if (it == meta.end() || !it->is_object() || it->value("npy", "") != name) continue;
    const auto n = it->find("n");
    if (n != it->end() && n->is_number_unsigned() &&
        n->get<std::uint64_t>() != info.at("rows").get<std::uint64_t>())
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("{} has {} rows but {} describes {} for it: the files come from different embed "
                      "runs; run georank embed again",
                      path, info.at("rows").get<std::uint64_t>(), side, n->get<std::uint64_t>()));
    const auto sha = it->find("sha256");
    if (sha != it->end() && sha->is_string() && *sha != info.at("sha256"))
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("{} is not the file {} describes (SHA-256 differs): the files come from different "
                      "embed runs; run georank embed again",
                      path, side));
  }
}

json embeddings_info(const std::string& path, const Embeddings& e) {
  const auto header = read_npy_header(path);
  json j = {{"path", fs::absolute(path).string()},
            {"sha256", sha256_file(path)},
            {"rows", e.matrix.rows},
            {"dim", e.matrix.cols},
            {"dtype", header.dtype == NpyDtype::float32 ? "float32" : "float16"}};
  // Whatever the producer recorded beside the embeddings (`georank embed` writes
  // embeddings.meta.json with the model fingerprint) is carried along verbatim.
  fs::path own(path);
  own.replace_extension(".meta.json");
  for (const fs::path& side : {own, fs::path(path).parent_path() / "embeddings.meta.json"}) {
    if (!fs::exists(side)) continue;
    try {
      std::ifstream in(side);
      j["meta"] = json::parse(in);
      j["meta_file"] = side.string();
    } catch (const json::exception& ex) {
      log_warn("{}: ignored, not JSON: {}", side.string(), ex.what());
      continue;
    }
    check_sidecar_matches(path, j, side.string());
    break;
  }
  return j;
}

double norm_spread(const FloatMatrix& m) {
  double worst = 0;
  for (std::size_t r = 0; r < m.rows; ++r) {
    double s = 0;
    for (float v : m.row(r)) s += static_cast<double>(v) * v;
    worst = std::max(worst, std::abs(std::sqrt(s) - 1.0));
  }
  return worst;
}

std::string key_of(const std::string& path, const std::vector<std::string>& ids, const IndexConfig& cfg) {
  std::string ids_blob;
  for (const auto& id : ids) ids_blob += id + '\n';
  const auto ids_hash = sha256_hex({reinterpret_cast<const std::uint8_t*>(ids_blob.data()), ids_blob.size()});
  const auto mtime = fs::last_write_time(path).time_since_epoch().count();
  return fmt::format("{}|{}|{}|{}", cfg.factory, fs::file_size(path), mtime, ids_hash);
}

}  // namespace

std::string index_path_for(const std::string& gallery_npy, const std::string& factory) {
  std::string f;
  for (char c : factory)
    f.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '_');
  fs::path p(gallery_npy);
  p.replace_extension("." + f + ".faiss");
  return p.string();
}

void write_retrieval_output(const std::vector<QueryRanking>& rankings, const json& meta,
                            const std::string& rankings_path) {
  write_rankings(rankings, rankings_path);
  write_file_atomic(meta_path_for(rankings_path), meta.dump(2) + "\n");
}

namespace {

// The persisted index of the gallery when its key (embeddings, selected rows, settings) is
// unchanged, else a new one (saved when persisting). `file`/`reused` say which.
VectorIndex gallery_index(const FloatMatrix& gallery, const std::vector<std::string>& tile_ids,
                          const RetrieveConfig& cfg, std::string& file, bool& reused) {
  reused = false;
  if (cfg.index.factory == "Flat" || !cfg.persist_index) return VectorIndex::build(gallery, cfg.index);
  file = index_path_for(cfg.gallery_embeddings, cfg.index.factory);
  const std::string key =
      key_of(cfg.gallery_embeddings, tile_ids, cfg.index) + (cfg.normalize ? "|norm" : "");
  const std::string key_file = file + ".key";
  std::string old_key;
  if (fs::exists(file) && fs::exists(key_file)) std::getline(std::ifstream(key_file), old_key);
  if (old_key == key) {
    reused = true;
    log_info("reusing index {}", file);
    return VectorIndex::load(file, cfg.index);
  }
  VectorIndex index = VectorIndex::build(gallery, cfg.index);
  index.save(file);
  write_file_atomic(key_file, key + "\n");
  return index;
}

// Search results as rankings in dataset query order.
std::vector<QueryRanking> rankings_of(const SearchResult& res, const Dataset& ds) {
  std::vector<QueryRanking> out;
  for (std::size_t qi = 0; qi < res.n_queries; ++qi) {
    QueryRanking r{ds.queries[qi].id, std::nullopt, {}};
    for (std::size_t j = 0; j < res.k; ++j) {
      const auto label = res.labels[qi * res.k + j];
      if (label < 0) break;
      RankedCandidate c;
      c.tile_id = ds.gallery[static_cast<std::size_t>(label)].id;
      c.score = res.scores[qi * res.k + j];
      r.candidates.push_back(std::move(c));
    }
    out.push_back(std::move(r));
  }
  annotate(out, ds);
  return out;
}

// The encoder fingerprint and random-weights flag the embeddings' sidecars name.
void encoder_of(const json& q_info, const json& g_info, json& fingerprint, bool& random_weights) {
  random_weights = false;
  for (const auto* info : {&q_info, &g_info}) {
    if (!info->contains("meta") || !(*info)["meta"].is_object()) continue;
    const json& m = (*info)["meta"];
    for (const char* key : {"model_fingerprint", "model_sha256", "fingerprint"})
      if (m.contains(key) && fingerprint.is_null()) fingerprint = m[key];
    if (fingerprint.is_null() && m.contains("model") && m["model"].is_object() &&
        m["model"].contains("fingerprint"))
      fingerprint = m["model"]["fingerprint"];
    random_weights = random_weights || m.value("random_weights", false);
  }
}

// A `georank index build` index over (at least) the dataset's gallery: searched for the best
// `want` rows per query, labels mapped through its .ids to dataset gallery rows (rows outside
// the gallery skipped), optionally re-scored exactly from the shards' float rows.
struct PrebuiltSearch {
  SearchResult result;  // labels are dataset gallery rows
  json index_info, gallery_info;
};

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw Error(ErrorKind::not_found, path + " not found (written by georank index build beside the index)");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::invalid_argument, path + ": not JSON: " + e.what());
  }
}

PrebuiltSearch search_prebuilt(const Dataset& ds, const RetrieveConfig& cfg, const FloatMatrix& queries,
                               std::size_t k) {
  const std::string& file = cfg.gallery_index;
  if (!fs::exists(file)) throw Error(ErrorKind::not_found, "--gallery-index " + file + " not found");
  const json meta = read_json_file(file + ".meta.json");
  const std::vector<std::string> ids = read_ids(meta.value("ids_file", file + ".ids"));
  const VectorIndex index = VectorIndex::load(file, cfg.index);
  if (index.size() != ids.size())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{} holds {} rows but its ids file names {}", file, index.size(), ids.size()));
  if (index.dim() != queries.cols)
    throw Error(ErrorKind::invalid_argument, fmt::format("{} has dimension {} but {} has {}", file,
                                                         index.dim(), cfg.query_embeddings, queries.cols));
  // index row -> dataset gallery row (-1: not in this gallery)
  std::unordered_map<std::string, std::int64_t> tile_row;
  for (std::size_t i = 0; i < ds.gallery.size(); ++i)
    tile_row.emplace(ds.gallery[i].id, static_cast<std::int64_t>(i));
  std::vector<std::int64_t> to_tile(ids.size(), -1);
  std::size_t found = 0;
  for (std::size_t r = 0; r < ids.size(); ++r)
    if (const auto it = tile_row.find(ids[r]); it != tile_row.end()) {
      to_tile[r] = it->second;
      ++found;
    }
  if (found < ds.gallery.size()) {
    std::unordered_map<std::string, bool> in_index;
    for (const auto& id : ids) in_index.emplace(id, true);
    std::string list;
    std::size_t shown = 0;
    for (const auto& t : ds.gallery)
      if (!in_index.contains(t.id) && shown++ < 3) list += (shown > 1 ? ", '" : "'") + t.id + "'";
    throw Error(ErrorKind::not_found, fmt::format("{}: {} of {} gallery tiles are not in the index (e.g. {})",
                                                  file, ds.gallery.size() - found, ds.gallery.size(), list));
  }
  const std::size_t outside = ids.size() - found;
  // rows outside the gallery take places in the index's answer: ask for more of them
  const std::size_t want = std::max(k, cfg.rescore);
  const std::size_t ask = std::min(index.size(), outside == 0 ? want : want + std::min(outside, 3 * want));
  const SearchResult raw = index.search(queries, ask);

  // the shards, for exact re-scoring: global row -> (shard, row)
  std::vector<NpyRowReader> shards;
  std::vector<std::size_t> first_row;
  if (cfg.rescore > 0) {
    std::size_t at = 0;
    const json list = meta.value("shards", json::array());
    for (const auto& sh : list) {
      if (!sh.is_object() || !sh.contains("path") || !sh["path"].is_string())
        throw Error(ErrorKind::invalid_argument,
                    file + ".meta.json: a shard without a \"path\": --rescore needs the shards' rows");
      shards.emplace_back(sh["path"].get<std::string>());
      first_row.push_back(at);
      at += shards.back().rows();
    }
    if (at != ids.size())
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{}: its shards hold {} rows, the index {}: rebuild it", file, at, ids.size()));
  }
  const bool normalize_rows = cfg.normalize || meta.value("normalize", false);
  std::vector<float> row(queries.cols);

  PrebuiltSearch ps;
  SearchResult& res = ps.result;
  res.n_queries = raw.n_queries;
  res.k = k;
  res.scores.assign(res.n_queries * k, -std::numeric_limits<float>::infinity());
  res.labels.assign(res.n_queries * k, -1);
  std::size_t short_queries = 0;
  for (std::size_t q = 0; q < raw.n_queries; ++q) {
    std::vector<std::pair<float, std::int64_t>> hits;  // (score, gallery row)
    for (std::size_t j = 0; j < raw.k && hits.size() < want; ++j) {
      const std::int64_t label = raw.labels[q * raw.k + j];
      if (label < 0 || to_tile[static_cast<std::size_t>(label)] < 0) continue;
      float score = raw.scores[q * raw.k + j];
      if (cfg.rescore > 0) {
        const auto r = static_cast<std::size_t>(label);
        const std::size_t s =
            static_cast<std::size_t>(std::upper_bound(first_row.begin(), first_row.end(), r) -
                                     first_row.begin()) -
            1;
        shards[s].read_rows(r - first_row[s], 1, row);
        double dot = 0, norm2 = 0;
        const auto qrow = queries.row(q);
        for (std::size_t c = 0; c < row.size(); ++c) {
          dot += static_cast<double>(qrow[c]) * row[c];
          norm2 += static_cast<double>(row[c]) * row[c];
        }
        score = static_cast<float>(normalize_rows && norm2 > 0 ? dot / std::sqrt(norm2) : dot);
      }
      hits.emplace_back(score, to_tile[static_cast<std::size_t>(label)]);
    }
    // stable: equal scores keep the index's order
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (hits.size() < k) ++short_queries;
    for (std::size_t j = 0; j < std::min(k, hits.size()); ++j) {
      res.scores[q * k + j] = hits[j].first;
      res.labels[q * k + j] = hits[j].second;
    }
  }
  if (short_queries > 0)
    log_warn(
        "{}: {} queries got fewer than {} tiles of this gallery from the index ({} of its rows are outside "
        "the gallery)",
        file, short_queries, k, outside);
  ps.index_info = {{"factory", meta.value("factory", "")},
                   {"exact", false},
                   {"search_params", cfg.index.search_params},
                   {"threads", cfg.index.n_threads},
                   {"file", fs::absolute(file).string()},
                   {"prebuilt", true},
                   {"rows", ids.size()},
                   {"rows_outside_gallery", outside},
                   {"searched_per_query", ask},
                   {"rescore", cfg.rescore},
                   {"ids_sha256", meta.value("ids_sha256", "")},
                   {"reused", true}};
  ps.gallery_info = {{"index_meta", fs::absolute(file + ".meta.json").string()},
                     {"shards", meta.value("shards", json::array())}};
  return ps;
}

}  // namespace

RetrieveResult retrieve(const Dataset& ds, const RetrieveConfig& cfg) {
  if (cfg.k == 0) throw Error(ErrorKind::invalid_argument, "--k must be >= 1");
  if (cfg.rescore > 0 && cfg.gallery_index.empty())
    throw Error(ErrorKind::invalid_argument, "--rescore re-scores a --gallery-index's candidates: give one");
  const auto t0 = std::chrono::steady_clock::now();
  Embeddings q_emb = read_embeddings(cfg.query_embeddings);
  const json q_info = embeddings_info(cfg.query_embeddings, q_emb);
  std::vector<std::string> query_ids, tile_ids;
  for (const auto& q : ds.queries) query_ids.push_back(q.id);
  for (const auto& t : ds.gallery) tile_ids.push_back(t.id);
  check_usable_rows(q_emb.matrix, q_emb.ids, cfg.query_embeddings);
  FloatMatrix queries = select_rows(q_emb, query_ids, "queries", cfg.query_embeddings);
  const std::size_t k = std::min(cfg.k, ds.gallery.size());
  if (k < cfg.k)
    log_info("--k {} is more than the gallery's {} tiles: returning all {}", cfg.k, ds.gallery.size(), k);

  SearchResult res;
  json index_info, g_info;
  std::chrono::steady_clock::time_point t1, t2;
  if (!cfg.gallery_index.empty()) {
    if (cfg.normalize) l2_normalize(queries);
    t1 = std::chrono::steady_clock::now();
    PrebuiltSearch ps;
    try {
      ps = search_prebuilt(ds, cfg, queries, k);
    } catch (const json::exception& e) {  // a field of the wrong type in the index's .meta.json
      throw Error(ErrorKind::invalid_argument, cfg.gallery_index + ".meta.json: " + e.what());
    }
    t2 = std::chrono::steady_clock::now();
    res = std::move(ps.result);
    index_info = std::move(ps.index_info);
    g_info = std::move(ps.gallery_info);
  } else {
    Embeddings g_emb = read_embeddings(cfg.gallery_embeddings);
    g_info = embeddings_info(cfg.gallery_embeddings, g_emb);
    if (q_emb.matrix.cols != g_emb.matrix.cols)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} has dimension {} but {} has {}", cfg.query_embeddings, queries.cols,
                              cfg.gallery_embeddings, g_emb.matrix.cols));
    check_usable_rows(g_emb.matrix, g_emb.ids, cfg.gallery_embeddings);
    FloatMatrix gallery = select_rows(g_emb, tile_ids, "gallery tiles", cfg.gallery_embeddings);
    if (g_emb.ids.size() > tile_ids.size())
      log_info("{}: {} rows are not in this dataset's gallery and are ignored", cfg.gallery_embeddings,
               g_emb.ids.size() - tile_ids.size());
    if (cfg.normalize) {
      l2_normalize(queries);
      l2_normalize(gallery);
    } else if (const double s = std::max(norm_spread(queries), norm_spread(gallery)); s > 1e-3) {
      log_warn(
          "embeddings are not unit length (max |norm - 1| = {:.3g}); scores are raw inner products "
          "(use --normalize for cosine similarity)",
          s);
    }
    std::string index_file;
    bool reused = false;
    const VectorIndex index = gallery_index(gallery, tile_ids, cfg, index_file, reused);
    t1 = std::chrono::steady_clock::now();
    res = index.search(queries, k);
    t2 = std::chrono::steady_clock::now();
    index_info = {{"factory", cfg.index.factory},
                  {"exact", index.exact()},
                  {"search_params", cfg.index.search_params},
                  {"threads", cfg.index.n_threads},
                  {"file", index_file.empty() ? json() : json(index_file)},
                  {"reused", reused}};
  }

  RetrieveResult out;
  out.rankings = rankings_of(res, ds);

  json fingerprint;
  bool random_weights = false;
  encoder_of(q_info, g_info, fingerprint, random_weights);
  out.meta = {{"kind", "retrieval"},
              {"dataset", to_json(ds.spec)},
              {"n_queries", ds.queries.size()},
              {"n_queries_before_subset", ds.n_queries_total},
              {"subset", {{"n", ds.spec.subset}, {"seed", ds.spec.seed}}},
              {"gallery_size", ds.gallery.size()},
              {"k", k},
              {"k_requested", cfg.k},
              {"index", index_info},
              {"normalize", cfg.normalize},
              {"config", config_to_json(cfg)},
              {"query_embeddings", q_info},
              {"gallery_embeddings", g_info},
              {"model_fingerprint", fingerprint},
              {"random_weights", random_weights},
              {"timing_s",
               {{"load_and_index", recorded_seconds(std::chrono::duration<double>(t1 - t0).count())},
                {"search", recorded_seconds(std::chrono::duration<double>(t2 - t1).count())}}}};
  record_shard(out.meta, ds);
  if (random_weights)
    out.meta["note"] = "embeddings from a random-weight encoder: rankings and their metrics mean nothing";
  return out;
}

}  // namespace georank
