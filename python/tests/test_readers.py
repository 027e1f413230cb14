"""The loaders against the real demo run, cross-checked with the files read independently."""

from __future__ import annotations

import json
import math
import sqlite3

import pandas as pd
import pytest

import georank

STRATEGIES = ["pairwise-bt-both", "pairwise-knockout", "pointwise-yesno", "pointwise-likert", "listwise"]


def jsonl(path):
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def test_candidates_one_row_per_query_and_candidate(demo_run):
    path = demo_run / "candidates.jsonl"
    lines = jsonl(path)
    df = georank.read_rankings(path)
    assert len(df) == sum(len(l["candidates"]) for l in lines) == len(lines) * 10
    assert list(df.columns) == georank.RANKING_COLUMNS
    ids = (demo_run / "embeddings" / "queries.ids").read_text(encoding="utf-8").split()
    assert sorted(df["query_id"].unique()) == sorted(ids) == sorted(l["query_id"] for l in lines)
    first = lines[0]
    rows = df[df["query_id"] == first["query_id"]]
    assert rows["tile_id"].tolist() == [c["tile_id"] for c in first["candidates"]]
    assert rows["rank"].tolist() == list(range(10))
    assert rows["score"].tolist() == pytest.approx([c["score"] for c in first["candidates"]])
    assert rows["query_lat"].iloc[0] == pytest.approx(first["lat"])
    assert rows["tile_lon"].tolist() == pytest.approx([c["lon"] for c in first["candidates"]])
    assert (df.groupby("query_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    assert df["baseline_rank"].isna().all() and not df["judged"].any()
    assert df["positive"].dtype == bool and df.groupby("query_id")["positive"].sum().max() <= 1
    assert df.attrs["path"] == str(path)


@pytest.mark.parametrize("name", STRATEGIES)
def test_reranked_with_evidence(demo_run, name):
    path = demo_run / f"reranked-{name}.jsonl"
    lines = jsonl(path)
    df = georank.read_rankings(path)
    meta = json.loads((demo_run / f"reranked-{name}.meta.json").read_text())
    k = meta["config"]["k"]
    assert len(df) == sum(len(l["candidates"]) for l in lines)
    assert df["query_id"].nunique() == len(lines) == meta["counts"]["queries"]
    # the top-k are judged and carry evidence; the rest keep retrieval order, without it
    assert df.groupby("query_id")["judged"].sum().eq(k).all()
    assert (df[df["judged"]]["rank"] < k).all()
    assert (df["baseline_rank"].notna()).all()
    assert sorted(df[df["query_id"] == lines[0]["query_id"]]["baseline_rank"].tolist()) == list(range(10))
    judged = df[df["judged"]]
    assert (judged["evidence_strategy"] == meta["config"]["strategy"]).all()
    assert (judged["evidence_judge"] == "llama.cpp").all()
    assert judged["evidence_rerank_score"].notna().all()
    assert df[~df["judged"]]["evidence_strategy"].isna().all()
    ev0 = lines[0]["candidates"][0]["evidence"]
    if meta["config"]["strategy"] == "pairwise":
        assert judged["evidence_comparisons"].map(len).equals(judged["evidence_n_comparisons"].astype(int))
        assert set(judged["evidence_aggregate"]) == {meta["config"]["aggregate"]}
    elif meta["config"]["strategy"].startswith("pointwise"):
        assert judged["evidence_probs"].map(len).eq(len(ev0["probs"])).all()
        assert judged["evidence_parsed"].dtype == "boolean"
        assert judged["evidence_normalized"].iloc[0] == pytest.approx(ev0["normalized"])
    else:
        assert judged["evidence_n_windows"].ge(1).all()
    raw = georank.read_rankings(path, evidence="raw")
    assert raw["evidence"].iloc[0] == ev0
    assert "evidence" not in georank.read_rankings(path, evidence="none").columns


def test_comparisons_once_each(demo_run):
    for name in ("pairwise-bt-both", "pairwise-knockout"):
        path = demo_run / f"reranked-{name}.jsonl"
        meta = json.loads((demo_run / f"reranked-{name}.meta.json").read_text())
        cmp = georank.read_comparisons(path)
        assert len(cmp) == meta["counts"]["judgments"]
        assert cmp["p_first"].between(0, 1).all()
        assert (cmp["first"] != cmp["second"]).all()
    both = georank.read_comparisons(demo_run / "reranked-pairwise-bt-both.jsonl")
    # both orders: every unordered pair of the top-5 is asked twice, once each way
    per_query = both.groupby("query_id").size()
    assert per_query.eq(5 * 4).all()
    assert georank.read_comparisons(demo_run / "reranked-pointwise-yesno.jsonl").empty


def test_candidates_csv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('query_id,tile_id,score\n"a,1.jpg",t1,0.2\n"a,1.jpg",t2,0.9\nb,t1,0.5\n', encoding="utf-8")
    df = georank.read_rankings(p)
    assert df["query_id"].tolist() == ["a,1.jpg", "a,1.jpg", "b"]
    assert df["tile_id"].tolist() == ["t2", "t1", "t1"]
    assert df["rank"].tolist() == [0, 1, 0]
    assert df["positive"].isna().all()


def test_meta(demo_run):
    m = georank.read_meta(demo_run / "reranked-pointwise-yesno.jsonl")
    raw = json.loads((demo_run / "reranked-pointwise-yesno.meta.json").read_text())
    assert len(m) == 1
    assert m["config.strategy"].iloc[0] == "pointwise-yesno"
    assert m["counts.judgments"].iloc[0] == raw["counts"]["judgments"]
    assert m["backend.identity_sha256"].iloc[0] == raw["backend"]["identity_sha256"]
    assert m["prompt.sha256"].iloc[0] == raw["prompt"]["sha256"]
    assert m.attrs["meta"] == raw
    cand = georank.read_meta(demo_run / "candidates.jsonl")
    assert cand["kind"].iloc[0] == "retrieval" and cand["k"].iloc[0] == 10
    emb = georank.read_meta(demo_run / "embeddings")
    assert emb["queries.n"].iloc[0] == 8 and emb["gallery.n"].iloc[0] > 0
    table = pd.concat([georank.read_meta(demo_run / f"reranked-{n}.meta.json") for n in STRATEGIES], ignore_index=True)
    assert table["config.strategy"].tolist() == ["pairwise", "pairwise", "pointwise-yesno", "pointwise-likert", "listwise"]


def test_summary(demo_run):
    s = georank.read_summary(demo_run)
    raw = json.loads((demo_run / "summary.json").read_text())
    assert len(s) == len(raw["rows"]) == 1 + len(STRATEGIES)
    assert s["name"].tolist() == ["baseline (retrieval)"] + STRATEGIES
    assert s["kind"].tolist() == ["baseline"] + ["rerank"] * len(STRATEGIES)
    assert s["strategy"].iloc[0] == "retrieval" and s["strategy"].iloc[1] == "pairwise"
    for col in ("r1", "r3", "r5", "r10", "mrr", "hit_rate", "meter_error_median", "meter_accuracy_50", "vlm_calls"):
        assert col in s.columns
    for i, row in enumerate(raw["rows"]):
        assert s["r1"].iloc[i] == pytest.approx(row["metrics"]["recall"]["1"])
        assert s["vlm_calls"].iloc[i] == row["vlm_calls"]
        assert s["meter_accuracy_25"].iloc[i] == pytest.approx(row["metrics"]["meter_error"]["accuracy_at"]["25"])
    assert s.attrs["config"]["retrieve"]["k"] == 10
    assert [st["step"] for st in s.attrs["steps"]] == ["embed", "retrieve"] + ["rerank"] * len(STRATEGIES)


def test_metrics_from_eval_match_the_summary(demo, demo_run, tmp_path):
    df = georank.evaluate(f"vigor:{demo / 'vigor'}", demo_run / "reranked-pointwise-yesno.jsonl", cities="Chicago")
    s = georank.read_summary(demo_run).set_index("name")
    for col in ("n_queries", "r1", "r3", "r5", "r10", "mrr", "hit_rate", "meter_error_median"):
        assert df[col].iloc[0] == pytest.approx(s.loc["pointwise-yesno", col]), col
    # the same from a saved `georank eval --json`, and from one object per line
    out = georank.call(["eval", f"--dataset=vigor:{demo / 'vigor'}", "--cities=Chicago",
                        f"--rankings={demo_run / 'candidates.jsonl'}", "--k=1", "--k=5", "--json"])
    one = tmp_path / "metrics.json"
    one.write_text(out.stdout)
    m = georank.read_metrics(one)
    assert list(m.columns[:3]) == ["n_queries", "r1", "r5"]
    assert m["r5"].iloc[0] == pytest.approx(s.loc["baseline (retrieval)", "r5"])
    lines = tmp_path / "metrics.jsonl"
    lines.write_text(json.dumps(json.loads(out.stdout)) + "\n" + json.dumps(json.loads(out.stdout)) + "\n")
    assert len(georank.read_metrics(lines)) == 2


def test_judgments_cache(demo_run):
    cache = demo_run / "judgments.sqlite"
    j = georank.read_judgments(cache)
    con = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    (n,) = con.execute("SELECT COUNT(*) FROM judgments").fetchone()
    first = con.execute("SELECT key, response FROM judgments ORDER BY rowid LIMIT 1").fetchone()
    con.close()
    metas = [json.loads((demo_run / f"reranked-{s}.meta.json").read_text()) for s in STRATEGIES]
    # every judgment computed was stored once; cache hits added none
    assert len(j) == n == sum(m["counts"]["backend_calls"] for m in metas)
    assert j["key"].is_unique and j["key"].iloc[0] == first[0]
    assert j["probs"].iloc[0] == pytest.approx(json.loads(first[1])["probs"])
    prompts = {m["prompt"]["sha256"] for m in metas if m["counts"]["backend_calls"] > 0}
    assert set(j["prompt_sha256"]) == prompts
    assert set(j["judge_sha256"]) == {m["backend"]["identity_sha256"] for m in metas}
    assert (j["judge_backend"] == "llama.cpp").all()
    pairwise = j[j["answers"].map(tuple) == ("A", "B")]
    assert len(pairwise) == metas[0]["counts"]["backend_calls"]  # bt-both computed, knockout reused
    assert pairwise["n_images"].eq(3).all()  # query + two tiles
    assert set(j["answer"].dropna()) <= {a for ans in j["answers"] for a in ans}
    assert j["created_at"].dt.tz is not None
    judges = georank.read_judges(cache)
    assert len(judges) == 1 and judges["backend"].iloc[0] == "llama.cpp"
    assert judges["judge_sha256"].iloc[0] in j.attrs["judges"]


def test_embeddings(demo_run):
    q = georank.read_embeddings(demo_run / "embeddings" / "queries.npy")
    g = georank.read_embeddings(demo_run / "embeddings", "gallery")
    meta = json.loads((demo_run / "embeddings" / "embeddings.meta.json").read_text())
    assert q.shape == (meta["queries"]["n"], meta["dim"])
    assert g.shape == (meta["gallery"]["n"], meta["dim"])
    assert q.index.name == "id"
    assert list(q.index) == (demo_run / "embeddings" / "queries.ids").read_text().split()
    norms = (q ** 2).sum(axis=1) ** 0.5
    assert norms.sub(1).abs().max() < 1e-3  # the card says l2-normalised


def test_report(demo):
    r = georank.read_report(demo)
    assert r.path == demo / "report"
    assert r.strategies["name"].tolist() == ["baseline"] + STRATEGIES
    assert len(r.queries) == 8 * len(STRATEGIES)
    assert set(r.queries["name"]) == set(STRATEGIES)
    assert set(r.queries["category"]) <= {"fixed", "broken", "kept", "missed"}
    assert r.queries["baseline_positive_rank"].dtype == "Int64"
    assert r.queries["query_id"].str.endswith(".jpg").all()  # names with commas, read back whole
    for name in STRATEGIES:
        counts = r.queries[r.queries["name"] == name]["category"].value_counts()
        row = r.strategies.set_index("name").loc[name]
        assert counts.get("fixed", 0) == row["fixed"] and counts.get("broken", 0) == row["broken"]
    assert set(r.cities["name"]) == {"baseline"} | set(STRATEGIES)
    assert r.data["n_queries"] == 8 and r.caveats
    assert len(r.figures) == len(r.data["figures"]) and "recall_bars" in set(r.figures["name"])


def test_read_run(demo, demo_run):
    for where in (demo, demo_run):
        run = georank.read_run(where)
        assert run.path == demo_run
        assert run.strategies == STRATEGIES
        assert set(run.rankings) == set(STRATEGIES)
        assert len(run.candidates) == 8 * 10
        assert run.rankings["listwise"]["query_id"].nunique() == 8
        assert run.meta["listwise"]["config.strategy"].iloc[0] == "listwise"
        assert run.config["retrieve"]["k"] == 10
        assert list(run.config["strategies"]) == STRATEGIES
        assert run.report is not None and len(run.report.strategies) == 6
        assert len(run.judgments) == len(georank.read_judgments(demo_run / "judgments.sqlite"))
    long = run.all_rankings()
    assert len(long) == 8 * 10 * (1 + len(STRATEGIES))
    top1 = run.top1()
    assert len(top1) == 8 * (1 + len(STRATEGIES))
    r1 = top1.groupby("strategy")["positive"].mean()
    summary = run.summary.set_index("name")
    for name in STRATEGIES:
        assert r1[name] == pytest.approx(summary.loc[name, "r1"])
    assert r1["baseline"] == pytest.approx(summary.loc["baseline (retrieval)", "r1"])
    with pytest.raises(KeyError, match="the run has"):
        run.rankings["nope"]


def test_read_run_of_a_moved_folder(demo_run, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(demo_run, moved, ignore=shutil.ignore_patterns("embeddings"))
    run = georank.read_run(moved)
    assert run.rankings.path("listwise") == moved / "reranked-listwise.jsonl"
    assert run.candidates_path == moved / "candidates.jsonl"
    assert run.caches == [moved / "judgments.sqlite"]
    assert math.isclose(run.rankings["listwise"]["score"].sum(), georank.read_rankings(demo_run / "reranked-listwise.jsonl")["score"].sum())
