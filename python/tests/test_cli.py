"""georank.run / georank.rerank / georank.evaluate: the real CLI as a subprocess."""

from __future__ import annotations

import json
import os

import pytest

import georank


def test_flags():
    assert georank.flags({"n_gpu_layers": -1, "no_progress": True, "selection_batched": False,
                          "servers": ["http://a", "http://b"], "cache": None}) == [
        "--n-gpu-layers=-1", "--no-progress", "--selection-batched=false", "--servers=http://a", "--servers=http://b"]


def test_find_binary(georank_bin, monkeypatch, tmp_path):
    assert georank.find_binary() == georank_bin
    assert georank.find_binary(georank_bin) == georank_bin
    with pytest.raises(FileNotFoundError, match="binary="):
        georank.find_binary(tmp_path / "no-georank")
    monkeypatch.setenv("GEORANK_BIN", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="GEORANK_BIN"):
        georank.find_binary()
    monkeypatch.delenv("GEORANK_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="pass binary=, set GEORANK_BIN"):
        georank.find_binary()


def test_run_from_a_dict(sim_config, work_dir):
    out = work_dir / "runs" / "sim"
    dry = georank.run(sim_config, out=out, dry_run=True)
    assert list(dry["strategies"]) == ["bt", "knockout", "yesno"]
    assert dry["strategies"]["bt"]["aggregate"] == "all-pairs-bt" and dry["strategies"]["yesno"]["k"] == 5
    # a dry run writes no file (the output folder may be created: georank checks that it can write there)
    assert not out.exists() or not any(out.iterdir())
    run = georank.run(sim_config, out=out, report=False)
    assert isinstance(run, georank.Run) and run.path == out
    assert run.strategies == ["bt", "knockout", "yesno"]
    assert run.summary["name"].tolist() == ["baseline (retrieval)", "bt", "knockout", "yesno"]
    assert run.candidates_path == georank.read_run(out).candidates_path
    assert str(run.candidates_path) == sim_config["candidates"]  # imported candidates
    assert run.report is None
    assert (out / "run.input.toml").is_file() and (out / "run.resolved.toml").is_file()
    n_queries = run.candidates["query_id"].nunique()
    for name in run.strategies:
        df = run.rankings[name]
        assert df["query_id"].nunique() == n_queries
        assert df.groupby("query_id")["judged"].sum().eq(5).all()
        assert (df[df["judged"]]["evidence_judge"] == "simulated").all()
    bt = json.loads((out / "reranked-bt.meta.json").read_text())
    assert bt["counts"]["judgments"] == n_queries * 20 == len(georank.read_comparisons(out / "reranked-bt.jsonl"))
    assert georank.read_summary(out)["vlm_calls"].tolist()[1] == n_queries * 20
    # the resolved config runs again to the same rankings, byte for byte
    again = georank.run(out / "run.resolved.toml", out=work_dir / "runs" / "again", report=False)
    for name in run.strategies:
        assert (again.path / f"reranked-{name}.jsonl").read_bytes() == (out / f"reranked-{name}.jsonl").read_bytes()


def test_run_with_report(sim_config, work_dir):
    cfg = dict(sim_config, strategies={"bt": sim_config["strategies"]["bt"]})
    run = georank.run(cfg, out=work_dir / "runs" / "reported", env={"PATH": "/nonexistent"})  # no node: no figure rendering
    assert run.report is not None
    assert run.report.strategies["name"].tolist() == ["baseline", "bt"]
    assert len(run.report.queries) == run.candidates["query_id"].nunique()


def test_run_errors(sim_config, work_dir, tmp_path):
    bad = dict(sim_config, strategies={"x": {"strategy": "pairwise", "aggregate": "best-of-three"}})
    with pytest.raises(georank.CLIError) as e:
        georank.run(bad, out=work_dir / "runs" / "bad")
    assert e.value.returncode == 2
    assert "best-of-three" in e.value.stderr and "status 2 (bad input or flags)" in str(e.value)
    assert not (work_dir / "runs" / "bad" / "summary.json").exists()
    with pytest.raises(FileNotFoundError, match="no such run config"):
        georank.run(tmp_path / "none.toml")
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"candidates = '{sim_config['candidates']}'\n[dataset]\ndataset = 'vigor:/nonexistent-georank-dataset'\n"
                   "[strategies.a]\nstrategy = 'pairwise'\njudge = 'simulated'\n")
    with pytest.raises(georank.CLIError) as e:
        georank.run(cfg, out=tmp_path / "out")
    assert e.value.returncode == 3 and "nonexistent-georank-dataset" in str(e.value)


def test_rerank_and_evaluate(demo, work_dir):
    out = work_dir / "rerank" / "selection.jsonl"
    res = georank.rerank(f"vigor:{demo / 'vigor'}", demo / "run" / "candidates.jsonl", out,
                         strategy="pairwise", aggregate="selection", orders="single", top=3, k=5,
                         judge="simulated", cities="Chicago", cache=work_dir / "rerank" / "cache.sqlite",
                         no_progress=True)
    assert res.path == out and out.is_file() and (work_dir / "rerank" / "selection.meta.json").is_file()
    assert res.meta["config.aggregate"].iloc[0] == "selection"
    assert res.counts["queries"] == res.rankings["query_id"].nunique() == 8
    assert 0 < res.counts["judgments"] <= 8 * (3 * 5 - 6)  # the paper's 3K - 6 per query at most
    assert len(georank.read_judgments(work_dir / "rerank" / "cache.sqlite")) == res.counts["backend_calls"]
    again = georank.rerank(f"vigor:{demo / 'vigor'}", demo / "run" / "candidates.jsonl", work_dir / "rerank" / "again.jsonl",
                           strategy="pairwise", aggregate="selection", orders="single", top=3, k=5,
                           judge="simulated", cities="Chicago", cache=work_dir / "rerank" / "cache.sqlite",
                           no_progress=True)
    # every lookup of the second run is answered by the cache the first one filled
    assert again.counts["backend_calls"] == 0
    assert again.counts["cache_hits"] == res.counts["backend_calls"] + res.counts["cache_hits"]
    assert again.counts["judgments"] == res.counts["judgments"]
    assert (work_dir / "rerank" / "again.jsonl").read_bytes() == out.read_bytes()
    m = georank.evaluate(f"vigor:{demo / 'vigor'}", out, cities="Chicago", k=[1, 3], meters=[25])
    assert list(m.columns[:3]) == ["n_queries", "r1", "r3"] and "meter_accuracy_25" in m.columns
    top1 = res.rankings[res.rankings["rank"] == 0]
    assert m["r1"].iloc[0] == pytest.approx(top1["positive"].mean())


def test_rerank_error_carries_exit_code_and_stderr(demo, tmp_path):
    with pytest.raises(georank.CLIError) as e:
        georank.rerank(f"vigor:{demo / 'vigor'}", tmp_path / "missing.jsonl", tmp_path / "out.jsonl", judge="simulated")
    assert e.value.returncode == 3
    assert "missing.jsonl" in e.value.stderr
    assert str(e.value).startswith("georank rerank exited with status 3 (not found): ")
    assert str(e.value).endswith("missing.jsonl")  # the cause, not CLI11's "Run with --help" hint
    assert e.value.cmd[0] == os.environ["GEORANK_BIN"] and e.value.cmd[1] == "rerank"
    with pytest.raises(georank.CLIError) as e:
        georank.rerank(f"vigor:{demo / 'vigor'}", demo / "run" / "candidates.jsonl", tmp_path / "o.jsonl",
                       judge="simulated", strategy="pairwise", aggregate="nonsense")
    assert e.value.returncode == 2 and "nonsense" in e.value.stderr
    assert not (tmp_path / "o.jsonl").exists()
