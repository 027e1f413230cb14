"""docs/python.md: its notebook (every ```python block, in order) runs against a real demo and service."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import georank

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"
DOC_URL = "http://127.0.0.1:8080"  # the service's address in the page; the test's own service replaces it


def python_blocks(text: str):
    return re.findall(r"^```python\n(.*?)^```\s*$", text, flags=re.S | re.M)


def test_the_page_says_why_the_package_is_pure_python():
    text = DOC.read_text(encoding="utf-8")
    for needle in ("pybind11", "GEORANK_USE_SYSTEM_RUNTIME", "onnx::checker", "--no-build-isolation",
                   "pip install ./python", "Debian 13"):
        assert needle in text, needle


def test_notebook_runs(demo, serve_url, work_dir, monkeypatch, capsys):
    text = DOC.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) >= 8, f"{DOC}: expected the notebook's python blocks, found {len(blocks)}"
    assert sum(DOC_URL in b for b in blocks) == 1
    # The page's commands run in the folder that holds out/demo: here, the work folder.
    assert demo == work_dir / "out" / "demo"
    monkeypatch.chdir(work_dir)
    ns: dict = {"__name__": "__docs__"}
    for i, block in enumerate(blocks, start=1):
        code = compile(block.replace(DOC_URL, serve_url), f"{DOC}#python-block-{i}", "exec")
        exec(code, ns)  # a failing cell fails the test, with the page's block number in the traceback
    printed = capsys.readouterr().out

    run = ns["run"]
    assert isinstance(run, georank.Run) and run.strategies == list(georank.read_run(demo).strategies)
    assert run.strategies[0] in printed
    ranks = ns["ranks"]
    assert set(ranks.columns) <= {"baseline"} | set(run.strategies) and "baseline" in ranks.columns
    settings = ns["settings"]
    assert settings["strategy_name"].tolist() == run.strategies
    assert settings["counts.judgments"].ge(0).all()
    judgments = ns["judgments"]
    assert len(judgments) == len(georank.read_judgments(demo / "run" / "judgments.sqlite")) > 0
    result = ns["result"]
    assert result.path == Path("out/notebook/selection.jsonl")
    assert (work_dir / "out" / "notebook" / "selection.meta.json").is_file()
    assert result.counts["queries"] == run.candidates["query_id"].nunique()
    assert str(result.counts) in printed
    sim = ns["sim"]
    assert sim.summary["name"].tolist() == ["baseline (retrieval)", "knockout", "yesno"]
    assert (work_dir / "out" / "notebook" / "run" / "summary.json").is_file()
    assert "3 georank rerank exited with status 3 (not found): --candidates: File does not exist" in printed
    answer = ns["answer"]
    assert isinstance(answer, georank.Localization) and answer["k"] == 5
    assert answer["estimate"]["source"] == "rerank" and str(answer["estimate"]) in printed
    assert isinstance(answer.candidates_frame, pd.DataFrame) and len(answer.candidates_frame) == 5
