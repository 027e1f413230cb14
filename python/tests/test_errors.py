"""Malformed inputs: every error names the file, the line or row, and the field."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

import georank
from georank import FormatError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


GOOD = {"query_id": "q1", "lat": 1.0, "lon": 2.0, "candidates": [{"tile_id": "t1", "score": 0.5, "lat": 1.0, "lon": 2.0}]}


def line(obj):
    return json.dumps(obj) + "\n"


def test_invalid_json_line(tmp_path):
    p = write(tmp_path / "r.jsonl", line(GOOD) + "{not json\n")
    with pytest.raises(FormatError) as e:
        georank.read_rankings(p)
    assert e.value.path == str(p) and e.value.line == 2
    assert str(e.value).startswith(f"{p}:2: invalid JSON")


@pytest.mark.parametrize(
    "mutate, field, reason",
    [
        (lambda o: o.pop("query_id"), "query_id", "missing"),
        (lambda o: o.update(query_id=3), "query_id", "expected a string, got a number"),
        (lambda o: o.update(candidates={}), "candidates", "expected an array, got an object"),
        (lambda o: o["candidates"][0].pop("tile_id"), "candidates[0].tile_id", "missing"),
        (lambda o: o["candidates"][0].update(score="high"), "candidates[0].score", "expected a number or null, got a string"),
        (lambda o: o["candidates"][0].update(lon=None), "candidates[0].lat", "both be numbers or both be null"),
        (lambda o: o["candidates"][0].update(baseline_rank=-1), "candidates[0].baseline_rank", "non-negative integer"),
        (lambda o: o["candidates"][0].update(positive="yes"), "candidates[0].positive", "expected true or false"),
        (lambda o: o["candidates"][0].update(evidence=[1]), "candidates[0].evidence", "expected an object or null"),
        (lambda o: o["candidates"].append(7), "candidates[1]", "expected an object"),
    ],
)
def test_malformed_ranking_fields(tmp_path, mutate, field, reason):
    bad = json.loads(json.dumps(GOOD))
    bad["query_id"] = "q2"
    mutate(bad)
    p = write(tmp_path / "r.jsonl", line(GOOD) + "\n" + line(bad))
    with pytest.raises(FormatError) as e:
        georank.read_rankings(p)
    assert (e.value.line, e.value.field) == (3, field)
    assert reason in str(e.value) and str(p) in str(e.value)


def test_duplicate_query(tmp_path):
    p = write(tmp_path / "r.jsonl", line(GOOD) + line(GOOD))
    with pytest.raises(FormatError, match=r"r\.jsonl:2: field 'query_id': query 'q1' appears twice \(first on line 1\)"):
        georank.read_rankings(p)


def test_not_utf8(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_bytes(line(GOOD).encode() + b'{"query_id": "\xff"}\n')
    with pytest.raises(FormatError, match=r":2: not UTF-8"):
        georank.read_rankings(p)


def test_missing_files_name_themselves(tmp_path):
    for fn in (georank.read_rankings, georank.read_meta, georank.read_summary, georank.read_metrics,
               georank.read_judgments, georank.read_report, georank.read_run):
        with pytest.raises(FileNotFoundError, match="nowhere"):
            fn(tmp_path / "nowhere.jsonl")


def test_csv_candidates_errors(tmp_path):
    with pytest.raises(FormatError, match=r"c\.csv:1: field 'score': missing column"):
        georank.read_rankings(write(tmp_path / "c.csv", "query_id,tile_id\nq,t\n"))
    with pytest.raises(FormatError, match=r"c\.csv:3: field 'score': 'x' is not a number"):
        georank.read_rankings(write(tmp_path / "c.csv", "query_id,tile_id,score\nq,t,1\nq,u,x\n"))


def test_meta_and_summary_errors(tmp_path):
    with pytest.raises(FormatError, match=r"m\.meta\.json:1: expected a JSON object, got an array"):
        georank.read_meta(write(tmp_path / "m.meta.json", "[]"))
    with pytest.raises(FormatError, match=r"m\.meta\.json:2: invalid JSON"):
        georank.read_meta(write(tmp_path / "m.meta.json", '{"a": 1,\n oops}'))
    with pytest.raises(FormatError, match=r"summary\.json: field 'rows': missing"):
        georank.read_summary(write(tmp_path / "summary.json", "{}"))
    bad = {"rows": [{"name": "baseline (retrieval)", "metrics": {"recall": {"1": "high"}}}]}
    with pytest.raises(FormatError, match=r"field 'rows\[0\]\.metrics\.recall\.1': expected a number or null, got a string"):
        georank.read_summary(write(tmp_path / "summary.json", json.dumps(bad)))
    with pytest.raises(FormatError, match=r"metrics\.json: field 'recall': missing"):
        georank.read_metrics(write(tmp_path / "metrics.json", '{"mrr": 0.5}'))


def test_judgment_cache_errors(tmp_path, demo_run):
    with pytest.raises(FormatError, match=r"notdb\.sqlite: not a SQLite database"):
        georank.read_judgments(write(tmp_path / "notdb.sqlite", "hello, this is not SQLite" * 100))
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE judges (sha256 TEXT, identity TEXT)")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match=r"other\.sqlite: field 'judgments': no table 'judgments'"):
        georank.read_judgments(other)
    corrupt = tmp_path / "corrupt.sqlite"
    shutil.copyfile(demo_run / "judgments.sqlite", corrupt)
    con = sqlite3.connect(corrupt)
    con.execute("UPDATE judgments SET response = '{\"probs\": 1}' WHERE rowid = (SELECT rowid FROM judgments ORDER BY rowid LIMIT 1 OFFSET 4)")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match=r"corrupt\.sqlite:5: field 'judgments\.response\.probs': expected an array"):
        georank.read_judgments(corrupt)
    # reading never writes: the cache's bytes are as they were
    before = (demo_run / "judgments.sqlite").read_bytes()
    georank.read_judgments(demo_run / "judgments.sqlite")
    assert (demo_run / "judgments.sqlite").read_bytes() == before


def test_report_errors(tmp_path, demo):
    rep = tmp_path / "report"
    shutil.copytree(demo / "report", rep, ignore=shutil.ignore_patterns("figures", "*.html"))
    text = (rep / "queries.csv").read_text().replace("category", "kind", 1)
    (rep / "queries.csv").write_text(text)
    with pytest.raises(FormatError, match=r"queries\.csv:1: field 'category': missing column"):
        georank.read_report(rep)
    (rep / "report.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match=r"report\.json:1: expected a JSON object"):
        georank.read_report(rep)


def test_embeddings_ids_mismatch(tmp_path, demo_run):
    shutil.copyfile(demo_run / "embeddings" / "queries.npy", tmp_path / "q.npy")
    ids = (demo_run / "embeddings" / "queries.ids").read_text().splitlines()
    (tmp_path / "q.ids").write_text("\n".join(ids[:-1]) + "\n")
    with pytest.raises(FormatError, match=rf"q\.ids: {len(ids) - 1} ids for the {len(ids)} rows"):
        georank.read_embeddings(tmp_path / "q.npy")
