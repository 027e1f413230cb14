#pragma once
// An independent NumPy computation of the VIGOR metrics from the dataset's label files and
// the embeddings (full similarity matrix, VIGOR's and Sample4Geo's formulas), to check
// `georank eval` against.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace georank::test {

inline const char* kIndependentMetrics = R"PY(
import json, math, sys
import numpy as np
root, city, q_npy, g_npy = sys.argv[1:5]
def ids(p): return open(p).read().split('\n')[:-1]
Q, G = np.load(q_npy).astype(np.float64), np.load(g_npy).astype(np.float64)
qid, gid = ids(q_npy[:-4] + '.ids'), ids(g_npy[:-4] + '.ids')
sat = open(root + '/splits/' + city + '/satellite_list.txt').read().split()
G = G[[gid.index(s) for s in sat]]
lines = [l.split() for l in open(root + '/splits/' + city + '/pano_label_balanced.txt') if l.strip()]
N = len(sat)
def gps_pano(n): p = n[:-5].split(','); return float(p[-2]), float(p[-1])
def gps_tile(n): p = n[len('satellite_'):-4].split('_'); return float(p[0]), float(p[1])
def hav(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    s = math.sin((la2-la1)/2)**2 + math.cos(la1)*math.cos(la2)*math.sin((lo2-lo1)/2)**2
    return 2 * 6371004.0 * math.asin(math.sqrt(s))
ks = [1, 3, 5, 10]; rec = {k: 0 for k in ks}; r1p = hit = s4g = mrr = 0; err = []
for t in lines:
    sim = G @ Q[qid.index(t[0])]
    pos = sat.index(t[1]); semis = [sat.index(t[i]) for i in (4, 7, 10)]
    higher = sim > sim[pos]; rank = int(higher.sum())
    for k in ks: rec[k] += rank < k
    r1p += rank < N // 100 + 1
    top = int(np.argmax(sim)); hit += top == pos or top in semis
    mask = np.ones(N, bool); mask[semis] = False; s4g += (higher & mask).sum() < 1
    mrr += 1.0 / (rank + 1) if rank < 10 else 0.0
    err.append(hav(gps_pano(t[0]), gps_tile(sat[top])))
n = len(lines); err = np.array(err)
print(json.dumps({"n_queries": n, "recall": {str(k): rec[k] / n for k in ks}, "r_at_1pct": r1p / n,
  "hit_rate": hit / n, "hit_rate_sample4geo": s4g / n, "mrr": mrr / n,
  "meter_error": {"median": float(np.median(err)), "mean": float(err.mean()),
                  "accuracy_at": {str(t): float((err <= t).mean()) for t in (1, 5, 10, 25, 50)}}}))
)PY";

inline void expect_json_near(const nlohmann::json& a, const nlohmann::json& b, const std::string& path = "") {
  if (a.is_number() && b.is_number()) {
    EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-6) << path;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << path << ": " << a.dump() << " vs " << b.dump();
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << path << ": " << a.dump() << " vs " << b.dump();
    for (const auto& [k, v] : a.items()) {
      ASSERT_TRUE(b.contains(k)) << path << "/" << k;
      expect_json_near(v, b[k], path + "/" + k);
    }
  } else {
    EXPECT_EQ(a, b) << path;
  }
}

/// Runs the script over `root`'s cross-area label file of `city` and Q/G embeddings; the
/// metrics object in `georank eval --json`'s shape, for top-10 lists.
inline nlohmann::json independent_vigor_metrics(const std::string& work_dir, const std::string& root,
                                                const std::string& city, const std::string& q_npy,
                                                const std::string& g_npy) {
  const std::string script = work_dir + "/independent_metrics.py";
  std::ofstream(script) << kIndependentMetrics;
  const std::string cmd =
      std::string(GEORANK_PYTHON) + " " + script + " " + root + " " + city + " " + q_npy + " " + g_npy;
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  while (p && std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  if (!p || ::pclose(p) != 0) throw std::runtime_error("independent metrics script failed: " + out);
  return nlohmann::json::parse(out);
}

}  // namespace georank::test
