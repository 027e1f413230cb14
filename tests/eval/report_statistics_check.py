#!/usr/bin/python3
"""Checks a georank report's statistics against independent computations.

    report_statistics_check.py REPORT_DIR

From the run's own rankings files (the positive flags of each candidate), it recomputes every
strategy's recall, the fixed/broken counts, the exact McNemar p-value (scipy's binomial test),
Holm's adjustment, a paired bootstrap interval (NumPy, its own generator: the intervals must
agree within the resampling noise), the oracle ceiling and the pointwise AUROC (scipy's
Mann-Whitney U); and it reads the CSV tables with pandas. Exits 1 listing every mismatch.
"""

import json
import math
import os
import sys

import numpy as np
import pandas as pd
from scipy import stats

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def close(a, b, tol, what):
    check(a is not None and b is not None and abs(a - b) <= tol, f"{what}: {a} vs {b} (tolerance {tol})")


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def locate(run_dir, recorded):
    return recorded if os.path.exists(recorded) else os.path.join(run_dir, os.path.basename(recorded))


def positive_rank(query):
    """VIGOR's rank: position minus the earlier candidates of exactly the same score."""
    cands = query["candidates"]
    for i, c in enumerate(cands):
        if c.get("positive"):
            return i - sum(1 for e in cands[:i] if e.get("score") == c.get("score"))
    return None


def correct_at(ranks, k):
    return np.array([1.0 if r is not None and r < k else 0.0 for r in ranks])


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted, running = [0.0] * m, 0.0
    for r, i in enumerate(order):
        running = max(running, min(1.0, (m - r) * p[i]))
        adjusted[i] = running
    return adjusted


def main():
    report_dir = sys.argv[1]
    with open(os.path.join(report_dir, "report.json")) as f:
        rep = json.load(f)
    run_dir = rep["run_dir"]
    baseline_file = locate(run_dir, rep["baseline"]["file"])
    if baseline_file.endswith(".csv"):
        # Imported candidates carry no labels: every reranked file holds the whole list with
        # each candidate's baseline rank and its positive flag.
        first = read_jsonl(locate(run_dir, rep["strategies"][rep["strategy_order"][0]]["file"]))
        baseline = [dict(q, candidates=sorted(q["candidates"], key=lambda c: c["baseline_rank"])) for q in first]
    else:
        baseline = read_jsonl(baseline_file)
    by_id = {q["query_id"]: q for q in baseline}
    ids = [q["query_id"] for q in baseline]
    n = len(ids)
    check(rep["n_queries"] == n, f"n_queries {rep['n_queries']} vs {n}")
    base_ranks = [positive_rank(by_id[i]) for i in ids]
    base1 = correct_at(base_ranks, 1)
    for k in rep["ks"]:
        close(rep["baseline"]["recall"][str(k)], correct_at(base_ranks, k).mean(), 1e-12, f"baseline R@{k}")
    for k, v in rep["oracle"]["recall"].items():
        close(v, correct_at(base_ranks, int(k)).mean(), 1e-12, f"oracle R@{k}")

    resamples = rep["statistics"]["bootstrap_resamples"]
    level = rep["statistics"]["level"]
    rng = np.random.default_rng(20261202)
    raw_p = []
    for name in rep["strategy_order"]:
        s = rep["strategies"][name]
        reranked = {q["query_id"]: q for q in read_jsonl(locate(run_dir, s["file"]))}
        ranks = [positive_rank(reranked[i]) for i in ids]
        c1 = correct_at(ranks, 1)
        fixed = int(((base1 == 0) & (c1 == 1)).sum())
        broken = int(((base1 == 1) & (c1 == 0)).sum())
        check(s["fixed"] == fixed, f"{name}: fixed {s['fixed']} vs {fixed}")
        check(s["broken"] == broken, f"{name}: broken {s['broken']} vs {broken}")
        p = 1.0 if fixed + broken == 0 else stats.binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue
        close(s["mcnemar_p"], p, 1e-9 * max(1.0, p) + 1e-15, f"{name}: McNemar p")
        raw_p.append(p)
        oracle = correct_at(base_ranks, s["k"]).mean()
        close(s["oracle_r1"], oracle, 1e-12, f"{name}: oracle R@1")
        for k in rep["ks"]:
            ck, bk = correct_at(ranks, k), correct_at(base_ranks, k)
            close(s["recall"][str(k)], ck.mean(), 1e-12, f"{name}: R@{k}")
            diff = ck - bk
            close(s[f"delta_r{k}"], diff.mean(), 1e-12, f"{name}: delta R@{k}")
            means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
            lo, hi = np.percentile(means, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
            # Two generators: the percentiles of a mean over n 0/±1 values agree within a step
            # of 1/n plus the resampling noise.
            tol = 1.5 / n + 0.01
            close(s[f"delta_r{k}_ci95"][0], lo, tol, f"{name}: delta R@{k} interval low")
            close(s[f"delta_r{k}_ci95"][1], hi, tol, f"{name}: delta R@{k} interval high")
            check(s[f"delta_r{k}_ci95"][0] <= s[f"delta_r{k}"] <= s[f"delta_r{k}_ci95"][1],
                  f"{name}: delta R@{k} outside its interval")
        d = s.get("diagnostics")
        if d and d["kind"] == "pointwise":
            pos, other = [], []
            for q in reranked.values():
                for c in q["candidates"]:
                    e = c.get("evidence")
                    if isinstance(e, dict) and e.get("parsed", True) and isinstance(e.get("normalized"), (int, float)):
                        (pos if c.get("positive") else other).append(min(1.0, max(0.0, e["normalized"])))
            if pos and other:
                u = stats.mannwhitneyu(pos, other, alternative="two-sided").statistic
                close(d["auroc"], u / (len(pos) * len(other)), 1e-12, f"{name}: AUROC")
    for name, p in zip(rep["strategy_order"], holm(raw_p)):
        close(rep["strategies"][name]["mcnemar_p_holm"], p, 1e-9, f"{name}: Holm p")

    table = pd.read_csv(os.path.join(report_dir, "strategies.csv"))
    check(list(table["name"]) == ["baseline"] + rep["strategy_order"], f"strategies.csv names {list(table['name'])}")
    for name in rep["strategy_order"]:
        row = table[table["name"] == name].iloc[0]
        check(int(row["fixed"]) == rep["strategies"][name]["fixed"], f"strategies.csv {name} fixed")
        check(math.isclose(row["mcnemar_p"], rep["strategies"][name]["mcnemar_p"], rel_tol=1e-5, abs_tol=1e-12),
              f"strategies.csv {name} mcnemar_p")
    queries = pd.read_csv(os.path.join(report_dir, "queries.csv"))
    check(len(queries) == n * len(rep["strategy_order"]), f"queries.csv has {len(queries)} rows")
    cities = pd.read_csv(os.path.join(report_dir, "cities.csv"))
    check(set(cities["city"]) == set(rep["cities"]), "cities.csv cities")

    if failures:
        print("report statistics: MISMATCH\n  " + "\n  ".join(failures))
        return 1
    print(f"report statistics: {len(rep['strategy_order'])} strategies, {n} queries: all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
