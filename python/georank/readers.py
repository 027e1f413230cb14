"""Loaders from georank's output files into pandas DataFrames.

Every loader checks the shape of what it reads and raises :class:`georank.FormatError`
naming the file, the line (or row) and the field when something does not fit; a missing
file is a :class:`FileNotFoundError` naming it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
import urllib.parse
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import pandas as pd

from .errors import FormatError

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "read_rankings",
    "read_comparisons",
    "read_meta",
    "read_summary",
    "read_metrics",
    "read_judgments",
    "read_judges",
    "read_embeddings",
    "read_report",
    "Report",
    "meta_path_for",
    "RANKING_COLUMNS",
]

#: The columns every :func:`read_rankings` frame has, in this order (evidence columns follow).
RANKING_COLUMNS = [
    "query_id",
    "query_lat",
    "query_lon",
    "rank",
    "tile_id",
    "score",
    "tile_lat",
    "tile_lon",
    "positive",
    "semi_positive",
    "baseline_rank",
    "judged",
]


# ---- small helpers ---------------------------------------------------------------------------


def _existing(path: PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such {what}")
    return p


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if _is_number(v):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _number_or_nan(v: Any, path: Path, line: Optional[int], name: str) -> float:
    if v is None:
        return math.nan
    if not _is_number(v):
        raise FormatError(path, f"expected a number or null, got {_type_name(v)}", line=line, field=name)
    return float(v)


def _require(obj: Mapping[str, Any], key: str, kind: type, path: Path, line: Optional[int], prefix: str = "") -> Any:
    name = f"{prefix}{key}"
    if key not in obj:
        raise FormatError(path, "missing", line=line, field=name)
    v = obj[key]
    ok = _is_number(v) if kind is float else isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    if not ok:
        expected = {str: "a string", list: "an array", dict: "an object", float: "a number", int: "an integer", bool: "a boolean"}[kind]
        raise FormatError(path, f"expected {expected}, got {_type_name(v)}", line=line, field=name)
    return v


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise FormatError(path, f"not UTF-8 (byte {e.start})", line=line) from None


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"invalid JSON: {e.msg} (column {e.colno})", line=e.lineno) from None


def _iter_jsonl(path: Path) -> Iterator[Tuple[int, Any]]:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(path, f"not UTF-8 (column {e.start + 1})", line=line_no) from None
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as e:
                raise FormatError(path, f"invalid JSON: {e.msg} (column {e.colno})", line=line_no) from None


def _latlon(obj: Mapping[str, Any], path: Path, line: int, prefix: str) -> Tuple[float, float]:
    lat, lon = obj.get("lat"), obj.get("lon")
    if lat is None and lon is None:
        return math.nan, math.nan
    if not (_is_number(lat) and _is_number(lon)):
        raise FormatError(path, '"lat" and "lon" must both be numbers or both be null', line=line, field=f"{prefix}lat")
    return float(lat), float(lon)


def _tidy_object_columns(df: pd.DataFrame, columns: List[str]) -> None:
    """Give loosely typed columns a proper dtype: booleans, numbers or strings."""
    for c in columns:
        values = [v for v in df[c].tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if not values:
            continue
        if all(isinstance(v, bool) for v in values):
            df[c] = df[c].astype("boolean")
        elif c.startswith("evidence_n_") and all(isinstance(v, int) or (isinstance(v, float) and v.is_integer()) for v in values):
            df[c] = pd.array([None if v is None or v != v else int(v) for v in df[c].tolist()], dtype="Int64")
        elif all(_is_number(v) for v in values):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")


def meta_path_for(path: PathLike) -> Path:
    """The meta sidecar of an output: ``reranked.jsonl`` -> ``reranked.meta.json``."""
    p = Path(path)
    if p.is_dir():
        return p / "embeddings.meta.json"
    if p.name.endswith(".meta.json"):
        return p
    return p.with_suffix(".meta.json")


# ---- rankings ---------------------------------------------------------------------------------


def _flatten_evidence(ev: Mapping[str, Any], out: Dict[str, Any]) -> None:
    for k, v in ev.items():
        name = f"evidence_{k}"
        if isinstance(v, dict):
            for kk, vv in v.items():
                out[f"{name}_{kk}"] = vv
        else:
            out[name] = v
            if isinstance(v, list) and (not v or isinstance(v[0], dict)):
                out[f"evidence_n_{k}"] = len(v)


def read_rankings(path: PathLike, *, evidence: str = "flat") -> pd.DataFrame:
    """Read a rankings file: candidates (``georank retrieve``) or reranked lists (``georank rerank``).

    Args:
        path: a JSONL file (one query per line: ``query_id``, ``lat``, ``lon``,
            ``candidates``) or a candidates CSV (``query_id,tile_id,score``, as
            ``georank retrieve --import-csv`` and ``georank eval`` take it).
        evidence: ``"flat"`` (default) spreads each candidate's ``evidence`` object into
            ``evidence_<key>`` columns (lists such as ``evidence_probs`` and
            ``evidence_comparisons`` stay Python lists, with ``evidence_n_<key>`` counts);
            ``"raw"`` keeps it as one ``evidence`` column of dicts; ``"none"`` drops it.

    Returns:
        One row per query and candidate, in file order, with the columns
        :data:`RANKING_COLUMNS`: ``rank`` is the 0-based position in the list (as
        ``baseline_rank`` and the service's ``rank``), ``baseline_rank`` the position in
        the retrieval list (``<NA>`` in candidates files), ``judged`` whether the judge saw
        the candidate (the reranked top-k), ``tile_lat``/``tile_lon`` the tile's centre.
        ``df.attrs["path"]`` is the file.
    """
    if evidence not in ("flat", "raw", "none"):
        raise ValueError(f"evidence must be 'flat', 'raw' or 'none', not {evidence!r}")
    p = _existing(path, "rankings file")
    if p.suffix.lower() == ".csv":
        return _read_candidates_csv(p)
    rows: List[Dict[str, Any]] = []
    extra: Dict[str, None] = {}
    seen: Dict[str, int] = {}
    for line_no, obj in _iter_jsonl(p):
        if not isinstance(obj, dict):
            raise FormatError(p, f"expected a JSON object, got {_type_name(obj)}", line=line_no)
        qid = _require(obj, "query_id", str, p, line_no)
        if qid in seen:
            raise FormatError(p, f"query {qid!r} appears twice (first on line {seen[qid]})", line=line_no, field="query_id")
        seen[qid] = line_no
        cands = _require(obj, "candidates", list, p, line_no)
        qlat, qlon = _latlon(obj, p, line_no, "")
        for i, c in enumerate(cands):
            prefix = f"candidates[{i}]."
            if not isinstance(c, dict):
                raise FormatError(p, f"expected an object, got {_type_name(c)}", line=line_no, field=f"candidates[{i}]")
            tile = _require(c, "tile_id", str, p, line_no, prefix)
            tlat, tlon = _latlon(c, p, line_no, prefix)
            br = c.get("baseline_rank")
            if br is not None and (not isinstance(br, int) or isinstance(br, bool) or br < 0):
                raise FormatError(p, "expected a non-negative integer", line=line_no, field=prefix + "baseline_rank")
            for flag in ("positive", "semi_positive"):
                if flag in c and not isinstance(c[flag], bool):
                    raise FormatError(p, f"expected true or false, got {_type_name(c[flag])}", line=line_no, field=prefix + flag)
            ev = c.get("evidence")
            if ev is not None and not isinstance(ev, dict):
                raise FormatError(p, f"expected an object or null, got {_type_name(ev)}", line=line_no, field=prefix + "evidence")
            row: Dict[str, Any] = {
                "query_id": qid,
                "query_lat": qlat,
                "query_lon": qlon,
                "rank": i,
                "tile_id": tile,
                "score": _number_or_nan(c.get("score"), p, line_no, prefix + "score"),
                "tile_lat": tlat,
                "tile_lon": tlon,
                "positive": bool(c.get("positive", False)),
                "semi_positive": bool(c.get("semi_positive", False)),
                "baseline_rank": br,
                "judged": ev is not None,
            }
            if evidence == "flat" and ev is not None:
                _flatten_evidence(ev, row)
                for k in row:
                    if k.startswith("evidence_"):
                        extra.setdefault(k)
            elif evidence == "raw":
                row["evidence"] = ev
            rows.append(row)
    columns = RANKING_COLUMNS + (["evidence"] if evidence == "raw" else list(extra))
    df = pd.DataFrame(rows, columns=columns)
    df["rank"] = df["rank"].astype("int64")
    df["baseline_rank"] = pd.array(df["baseline_rank"].tolist(), dtype="Int64")
    for c in ("score", "query_lat", "query_lon", "tile_lat", "tile_lon"):
        df[c] = df[c].astype("float64")
    for c in ("positive", "semi_positive", "judged"):
        df[c] = df[c].astype("bool")
    _tidy_object_columns(df, list(extra))
    df.attrs["path"] = str(p)
    return df


def _read_candidates_csv(p: Path) -> pd.DataFrame:
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise FormatError(p, "empty file (expected a header query_id,tile_id,score)", line=1)
            for col in ("query_id", "tile_id", "score"):
                if col not in header:
                    raise FormatError(p, "missing column in the header", line=1, field=col)
            qi, ti, si = header.index("query_id"), header.index("tile_id"), header.index("score")
            order: Dict[str, List[Tuple[float, str]]] = {}
            for row in reader:
                line = reader.line_num
                if not row or all(not x.strip() for x in row):
                    continue
                if len(row) != len(header):
                    raise FormatError(p, f"expected {len(header)} fields, got {len(row)}", line=line)
                try:
                    score = float(row[si])
                except ValueError:
                    raise FormatError(p, f"{row[si]!r} is not a number", line=line, field="score") from None
                if not math.isfinite(score):
                    raise FormatError(p, f"{row[si]!r} is not a finite number", line=line, field="score")
                if not row[qi] or not row[ti]:
                    raise FormatError(p, "empty query_id or tile_id", line=line)
                order.setdefault(row[qi], []).append((score, row[ti]))
    except UnicodeDecodeError as e:
        raise FormatError(p, f"not UTF-8 (byte {e.start})") from None
    rows = []
    for qid, cands in order.items():
        cands = sorted(cands, key=lambda sc: -sc[0])  # stable: ties keep file order
        for rank, (score, tile) in enumerate(cands):
            rows.append({"query_id": qid, "rank": rank, "tile_id": tile, "score": score})
    df = pd.DataFrame(rows, columns=RANKING_COLUMNS)
    for c in ("query_lat", "query_lon", "tile_lat", "tile_lon", "score"):
        df[c] = df[c].astype("float64")
    df["rank"] = df["rank"].astype("int64")
    df["baseline_rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    for c in ("positive", "semi_positive"):  # a CSV carries no labels
        df[c] = pd.array([pd.NA] * len(df), dtype="boolean")
    df["judged"] = False
    df.attrs["path"] = str(p)
    return df


def read_comparisons(path: PathLike) -> pd.DataFrame:
    """The pairwise judgments of a ``--strategy pairwise`` rerank output, one row each.

    Each judgment is listed in the evidence of both candidates it compares; here it appears
    once. Columns: ``query_id``, ``first``, ``second`` (tile ids, in the order shown to the
    judge), ``first_baseline_rank``, ``second_baseline_rank``, ``p_first`` (the judge's
    probability that the first matches), ``covered_mass``, ``parsed``, ``text`` (generated
    text, when any), ``first_positive``, ``second_positive``, ``aggregate``, ``orders``.
    """
    p = _existing(path, "rankings file")
    rows: List[Dict[str, Any]] = []
    for line_no, obj in _iter_jsonl(p):
        if not isinstance(obj, dict):
            raise FormatError(p, f"expected a JSON object, got {_type_name(obj)}", line=line_no)
        qid = _require(obj, "query_id", str, p, line_no)
        cands = _require(obj, "candidates", list, p, line_no)
        positive = {c.get("tile_id"): bool(c.get("positive", False)) for c in cands if isinstance(c, dict)}
        for i, c in enumerate(cands):
            ev = c.get("evidence") if isinstance(c, dict) else None
            if not isinstance(ev, dict) or "comparisons" not in ev:
                continue
            prefix = f"candidates[{i}].evidence."
            comps = _require(ev, "comparisons", list, p, line_no, prefix)
            br = c.get("baseline_rank")
            for j, cmp in enumerate(comps):
                cprefix = f"{prefix}comparisons[{j}]."
                if not isinstance(cmp, dict):
                    raise FormatError(p, "expected an object", line=line_no, field=cprefix[:-1])
                if _require(cmp, "first_baseline_rank", int, p, line_no, cprefix) != br:
                    continue  # listed again under the first candidate
                first = _require(cmp, "first", str, p, line_no, cprefix)
                second = _require(cmp, "second", str, p, line_no, cprefix)
                rows.append(
                    {
                        "query_id": qid,
                        "first": first,
                        "second": second,
                        "first_baseline_rank": cmp["first_baseline_rank"],
                        "second_baseline_rank": _require(cmp, "second_baseline_rank", int, p, line_no, cprefix),
                        "p_first": _number_or_nan(cmp.get("p_first"), p, line_no, cprefix + "p_first"),
                        "covered_mass": _number_or_nan(cmp.get("covered_mass"), p, line_no, cprefix + "covered_mass"),
                        "parsed": bool(cmp.get("parsed", True)),
                        "text": cmp.get("text"),
                        "first_positive": positive.get(first, False),
                        "second_positive": positive.get(second, False),
                        "aggregate": ev.get("aggregate"),
                        "orders": ev.get("orders"),
                    }
                )
    columns = ["query_id", "first", "second", "first_baseline_rank", "second_baseline_rank", "p_first",
               "covered_mass", "parsed", "text", "first_positive", "second_positive", "aggregate", "orders"]
    df = pd.DataFrame(rows, columns=columns)
    df.attrs["path"] = str(p)
    return df


# ---- meta sidecars, summaries, metrics ---------------------------------------------------------


def read_meta(path: PathLike) -> pd.DataFrame:
    """Read a ``.meta.json`` sidecar (of candidates, a rerank output or embeddings).

    Args:
        path: the sidecar itself, or the output it belongs to (``reranked.jsonl`` reads
            ``reranked.meta.json``; an embeddings folder reads its ``embeddings.meta.json``).

    Returns:
        One row; nested objects are flattened into dotted columns (``config.k``,
        ``counts.judgments``, ``backend.identity_sha256``, ``prompt.sha256``), lists stay
        lists. ``df.attrs["meta"]`` holds the whole object as read, ``df.attrs["path"]``
        the file. Frames of several sidecars concatenate into a comparison table.
    """
    p = _existing(meta_path_for(path), "meta sidecar")
    meta = _read_json(p)
    if not isinstance(meta, dict):
        raise FormatError(p, f"expected a JSON object, got {_type_name(meta)}", line=1)
    df = pd.json_normalize(meta, sep=".")
    df.insert(0, "file", str(p))
    df.attrs["meta"] = meta
    df.attrs["path"] = str(p)
    return df


def _sorted_keys(d: Mapping[str, Any]) -> List[str]:
    def key(k: str) -> Tuple[int, float, str]:
        try:
            return (0, float(k), k)
        except ValueError:
            return (1, 0.0, k)

    return sorted(d, key=key)


def _flatten_metrics(m: Any, path: Path, where: str, line: Optional[int] = None) -> Dict[str, Any]:
    """Flatten `georank eval --json`'s object: recall.1 -> r1, meter_error.median -> meter_error_median."""
    if not isinstance(m, dict):
        raise FormatError(path, f"expected an object, got {_type_name(m)}", line=line, field=where or None)
    pre = f"{where}." if where else ""
    recall = _require(m, "recall", dict, path, line, pre)
    out: Dict[str, Any] = {}
    for k, v in m.items():
        if k == "recall":
            for kk in _sorted_keys(recall):
                out[f"r{kk}"] = _number_or_nan(recall[kk], path, line, f"{pre}recall.{kk}")
        elif k == "meter_error":
            if not isinstance(v, dict):
                raise FormatError(path, f"expected an object, got {_type_name(v)}", line=line, field=f"{pre}meter_error")
            for kk, vv in v.items():
                if kk == "accuracy_at":
                    if not isinstance(vv, dict):
                        raise FormatError(path, "expected an object", line=line, field=f"{pre}meter_error.accuracy_at")
                    for t in _sorted_keys(vv):
                        out[f"meter_accuracy_{t}"] = _number_or_nan(vv[t], path, line, f"{pre}meter_error.accuracy_at.{t}")
                else:
                    out[f"meter_error_{kk}"] = _number_or_nan(vv, path, line, f"{pre}meter_error.{kk}")
        elif isinstance(v, dict):
            for kk, vv in v.items():
                out[f"{k}_{kk}"] = vv
        else:
            out[k] = v

    def group(name: str) -> int:
        if name == "n_queries":
            return 0
        if name.startswith("r") and name[1:2].isdigit():
            return 1
        order = ["r_at_1pct", "hit_rate", "hit_rate_sample4geo", "mrr", "meter_error_median", "meter_error_mean"]
        if name in order:
            return 2 + order.index(name)
        return 10 if name.startswith("meter_accuracy_") else 20

    return {k: out[k] for k in sorted(out, key=group)}  # stable: R@k and thresholds stay in order


def read_metrics(path: PathLike) -> pd.DataFrame:
    """Read retrieval metrics as ``georank eval --json`` prints them (saved to a file).

    The file holds one JSON object, a JSON array of them, or one object per line. A run's
    ``summary.json`` is read with :func:`read_summary`.

    Returns:
        One row per object: ``n_queries``, ``r1``, ``r3``, ... (R@k for each k asked),
        ``r_at_1pct``, ``hit_rate``, ``hit_rate_sample4geo``, ``mrr``, ``meter_error_mean``,
        ``meter_error_median`` (NaN without GPS) and ``meter_accuracy_<m>`` per threshold.
    """
    p = _existing(path, "metrics file")
    text = _read_text(p)
    items: List[Tuple[Optional[int], Any]]
    try:
        whole = json.loads(text)
        items = [(None, x) for x in whole] if isinstance(whole, list) else [(None, whole)]
    except json.JSONDecodeError:
        items = list(_iter_jsonl(p))
    for line, obj in items:
        if isinstance(obj, dict) and "rows" in obj and "recall" not in obj:
            return read_summary(p)
    rows = [_flatten_metrics(obj, p, "" if line is not None or len(items) == 1 else f"[{i}]", line)
            for i, (line, obj) in enumerate(items)]
    df = pd.DataFrame(rows)
    df.attrs["path"] = str(p)
    return df


def _summary_file(path: PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        for cand in (p / "summary.json", p / "run" / "summary.json"):
            if cand.exists():
                return cand
        raise FileNotFoundError(f"{p}: no summary.json (not a `georank run` output folder)")
    return _existing(p, "summary file")


def read_summary(path: PathLike) -> pd.DataFrame:
    """Read a run's ``summary.json`` (``georank run``): one row per strategy and the baseline.

    Args:
        path: ``summary.json`` or the run folder holding it.

    Returns:
        Columns ``name`` (``baseline (retrieval)`` or the strategy's name), ``kind``
        (``baseline`` or ``rerank``), ``strategy`` (``retrieval`` or the rerank strategy),
        ``file`` (the rankings), ``seconds``, ``vlm_calls``, ``delta_r1``, then the metrics
        as :func:`read_metrics` names them. ``df.attrs`` holds ``config`` (every setting,
        resolved), ``steps``, ``config_file``, ``resolved_config``, ``random_weights`` and
        ``path``.
    """
    p = _summary_file(path)
    s = _read_json(p)
    if not isinstance(s, dict):
        raise FormatError(p, f"expected a JSON object, got {_type_name(s)}", line=1)
    raw_rows = _require(s, "rows", list, p, None)
    config = s.get("config") if isinstance(s.get("config"), dict) else {}
    strategies = config.get("strategies") if isinstance(config.get("strategies"), dict) else {}
    rows = []
    for i, r in enumerate(raw_rows):
        where = f"rows[{i}]"
        if not isinstance(r, dict):
            raise FormatError(p, f"expected an object, got {_type_name(r)}", field=where)
        name = _require(r, "name", str, p, None, where + ".")
        is_baseline = i == 0 and name not in strategies
        strat = strategies.get(name, {}) if not is_baseline else {}
        row = {
            "name": name,
            "kind": "baseline" if is_baseline else "rerank",
            "strategy": "retrieval" if is_baseline else strat.get("strategy"),
            "file": r.get("file"),
            "seconds": _number_or_nan(r.get("seconds"), p, None, where + ".seconds"),
            "vlm_calls": r.get("vlm_calls"),
            "delta_r1": _number_or_nan(r.get("delta_r1"), p, None, where + ".delta_r1"),
        }
        row.update(_flatten_metrics(_require(r, "metrics", dict, p, None, where + "."), p, where + ".metrics"))
        rows.append(row)
    df = pd.DataFrame(rows)
    if "vlm_calls" in df:
        df["vlm_calls"] = pd.array(df["vlm_calls"].tolist(), dtype="Int64")
    for k in ("config", "steps", "config_file", "resolved_config", "random_weights"):
        df.attrs[k] = s.get(k)
    df.attrs["path"] = str(p)
    return df


# ---- the judgment cache -------------------------------------------------------------------------


def _connect_read_only(p: Path) -> sqlite3.Connection:
    uri = "file:" + urllib.parse.quote(str(p.resolve())) + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.DatabaseError as e:
        if "unable to open" not in str(e):
            raise FormatError(p, f"not a SQLite database: {e}") from None
    # A WAL database in a folder this process may not write: read it as immutable (as georank
    # itself does with a read-only cache). Writes by another process meanwhile are not seen.
    warnings.warn(f"{p}: opened immutable (its folder is not writable)", stacklevel=3)
    try:
        con = sqlite3.connect(uri + "&immutable=1", uri=True)
        con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.DatabaseError as e:
        raise FormatError(p, f"cannot open as a SQLite database: {e}") from None


def _decode_number(v: Any, p: Path, row: int, name: str) -> float:
    if _is_number(v):
        return float(v)
    if v == "nan":
        return math.nan
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    raise FormatError(p, f"expected a number, got {v!r}", line=row, field=name)


def _json_column(text: Any, p: Path, row: int, name: str) -> Any:
    if not isinstance(text, str):
        raise FormatError(p, f"expected JSON text, got {type(text).__name__}", line=row, field=name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(p, f"invalid JSON: {e.msg}", line=row, field=name) from None


def _cache_tables(con: sqlite3.Connection, p: Path) -> None:
    have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for t in ("judgments", "judges"):
        if t not in have:
            raise FormatError(p, f"no table {t!r} (not a georank judgment cache)", field=t)


def read_judges(cache_path: PathLike) -> pd.DataFrame:
    """The judge identities of a judgment cache (its ``judges`` table), one row per judge.

    Columns: ``judge_sha256`` and the identity's fields (``backend``, ``model_sha256``,
    ``mmproj_sha256``, ``runtime``, ``chat_template``, ``n_ctx``, ``server_model``, ...);
    the same identity as a rerank output's ``backend.identity`` meta field.
    """
    p = _existing(cache_path, "judgment cache")
    con = _connect_read_only(p)
    try:
        _cache_tables(con, p)
        rows = []
        for i, (sha, identity) in enumerate(con.execute("SELECT sha256, identity FROM judges ORDER BY rowid"), 1):
            ident = _json_column(identity, p, i, "judges.identity")
            if not isinstance(ident, dict):
                raise FormatError(p, "expected a JSON object", line=i, field="judges.identity")
            rows.append({"judge_sha256": sha, **ident})
    finally:
        con.close()
    df = pd.DataFrame(rows, columns=None if rows else ["judge_sha256"])
    df.attrs["path"] = str(p)
    return df


_JUDGMENT_COLUMNS = [
    "key", "judge_sha256", "judge_backend", "prompt_sha256", "request_sha256", "image_ids", "n_images",
    "answers", "probs", "logprobs", "answer", "p_answer", "covered_mass", "text", "n_prompt_tokens",
    "n_image_tokens", "n_generated_tokens", "template_name", "max_tokens", "temperature", "seed",
    "prefill", "answer_cue", "stop", "created_at",
]


def read_judgments(cache_path: PathLike) -> pd.DataFrame:
    """Read a judgment cache (``--cache judgments.sqlite``): one row per stored judgment.

    The database is opened read-only (``file:...?mode=ro``), so a run writing to it at the
    same time is not disturbed.

    Returns:
        Columns ``key`` (the judgment's digest), ``judge_sha256`` (the judge identity;
        :func:`read_judges` lists them) and ``judge_backend``, ``prompt_sha256`` (the
        prompt template's SHA-256, as ``prompt.sha256`` in the rerank meta),
        ``request_sha256``, ``image_ids`` (content hashes of the images shown),
        ``n_images``, ``answers`` (the closed answer set), ``probs`` and ``logprobs`` (one
        per answer), ``answer`` / ``p_answer`` (the most probable answer and its
        probability), ``covered_mass``, ``text`` (generated text), token counts,
        ``template_name``, the generation settings (``max_tokens``, ``temperature``,
        ``seed``, ``prefill``, ``answer_cue``, ``stop``) and ``created_at`` (UTC).
        ``df.attrs["judges"]`` maps each judge SHA-256 to its identity.
    """
    p = _existing(cache_path, "judgment cache")
    con = _connect_read_only(p)
    try:
        _cache_tables(con, p)
        judges: Dict[str, Any] = {}
        for i, (sha, identity) in enumerate(con.execute("SELECT sha256, identity FROM judges"), 1):
            judges[sha] = _json_column(identity, p, i, "judges.identity")
        cur = con.execute(
            "SELECT key, judge_sha256, prompt_sha256, image_ids, answers, generation, request_sha256,"
            " response, created_at FROM judgments ORDER BY rowid"
        )
        rows = []
        for i, (key, judge, prompt, images, answers, generation, request, response, created) in enumerate(cur, 1):
            img = _json_column(images, p, i, "judgments.image_ids")
            ans = _json_column(answers, p, i, "judgments.answers")
            gen = _json_column(generation, p, i, "judgments.generation")
            resp = _json_column(response, p, i, "judgments.response")
            if not isinstance(resp, dict):
                raise FormatError(p, "expected a JSON object", line=i, field="judgments.response")
            if not isinstance(gen, dict):
                raise FormatError(p, "expected a JSON object", line=i, field="judgments.generation")
            for name in ("probs", "logprobs"):
                if not isinstance(resp.get(name), list):
                    raise FormatError(p, "expected an array", line=i, field=f"judgments.response.{name}")
            probs = [_decode_number(v, p, i, "judgments.response.probs") for v in resp["probs"]]
            logprobs = [_decode_number(v, p, i, "judgments.response.logprobs") for v in resp["logprobs"]]
            finite = [(v, j) for j, v in enumerate(probs) if math.isfinite(v)]
            best = max(finite)[1] if finite else None
            ident = judges.get(judge)
            rows.append(
                {
                    "key": key,
                    "judge_sha256": judge,
                    "judge_backend": ident.get("backend") if isinstance(ident, dict) else None,
                    "prompt_sha256": prompt,
                    "request_sha256": request,
                    "image_ids": img,
                    "n_images": len(img) if isinstance(img, list) else None,
                    "answers": ans,
                    "probs": probs,
                    "logprobs": logprobs,
                    "answer": ans[best] if best is not None and isinstance(ans, list) and best < len(ans) else None,
                    "p_answer": probs[best] if best is not None else math.nan,
                    "covered_mass": _decode_number(resp.get("covered_mass", "nan"), p, i, "judgments.response.covered_mass"),
                    "text": resp.get("text"),
                    "n_prompt_tokens": resp.get("n_prompt_tokens"),
                    "n_image_tokens": resp.get("n_image_tokens"),
                    "n_generated_tokens": resp.get("n_generated_tokens"),
                    "template_name": resp.get("template_name"),
                    "max_tokens": gen.get("max_tokens"),
                    "temperature": gen.get("temperature"),
                    "seed": gen.get("seed"),
                    "prefill": gen.get("prefill"),
                    "answer_cue": gen.get("answer_cue"),
                    "stop": gen.get("stop"),
                    "created_at": created,
                }
            )
    finally:
        con.close()
    df = pd.DataFrame(rows, columns=_JUDGMENT_COLUMNS)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    for c in ("n_prompt_tokens", "n_image_tokens", "n_generated_tokens", "n_images", "max_tokens", "seed"):
        df[c] = pd.array(df[c].tolist(), dtype="Int64")
    df.attrs["judges"] = judges
    df.attrs["path"] = str(p)
    return df


# ---- embeddings ---------------------------------------------------------------------------------


def read_embeddings(path: PathLike, view: Optional[str] = None) -> pd.DataFrame:
    """Read embeddings written by ``georank embed``: ``X.npy`` with its ``X.ids`` beside it.

    Args:
        path: the ``.npy`` file, or the embeddings folder together with ``view``.
        view: ``"queries"`` or ``"gallery"`` when ``path`` is a folder.

    Returns:
        One row per id (the index, named ``id``), one float column per dimension.
    """
    import numpy as np

    p = Path(path)
    if p.is_dir():
        if view not in ("queries", "gallery"):
            raise ValueError(f"{p} is a folder: give view='queries' or view='gallery'")
        p = p / f"{view}.npy"
    p = _existing(p, "embeddings file")
    ids_path = p.with_suffix(".ids")
    _existing(ids_path, "ids file")
    try:
        matrix = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        raise FormatError(p, f"not a .npy array: {e}") from None
    if matrix.ndim != 2:
        raise FormatError(p, f"expected a 2-d array, got shape {matrix.shape}")
    text = _read_text(ids_path)
    ids = text.split("\n")
    if ids and ids[-1] == "":
        ids.pop()
    ids = [i[:-1] if i.endswith("\r") else i for i in ids]
    if len(ids) != matrix.shape[0]:
        raise FormatError(ids_path, f"{len(ids)} ids for the {matrix.shape[0]} rows of {p}")
    df = pd.DataFrame(np.asarray(matrix), index=pd.Index(ids, name="id"))
    df.attrs["path"] = str(p)
    return df


# ---- reports --------------------------------------------------------------------------------------


@dataclass
class Report:
    """What ``georank report`` wrote to ``RUN_DIR/report/`` (docs/report.md).

    Attributes:
        path: the report folder.
        data: ``report.json`` as read (every number; ``data["strategies"][name]``).
        strategies: ``strategies.csv``: one row per strategy and the baseline (recalls,
            deltas with intervals, McNemar p-values, fixed/broken counts, Pareto flag).
        cities: ``cities.csv``: R@1 per city and strategy (empty when the file is absent).
        queries: ``queries.csv``: one row per query and strategy (baseline rank of the
            positive, top-1 tile, fixed/broken/kept/missed category, unparsed answers).
        figures: one row per figure: ``name``, ``title``, ``spec`` (path of the Vega-Lite
            spec), ``svg``, ``png`` (absolute paths, or ``None`` when not rendered).
    """

    path: Path
    data: Dict[str, Any]
    strategies: pd.DataFrame
    cities: pd.DataFrame
    queries: pd.DataFrame
    figures: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def caveats(self) -> List[str]:
        """The report's caveats (random weights, synthetic data, simulated judge)."""
        return list(self.data.get("caveats", []))


def _read_report_csv(p: Path, required: List[str], dtypes: Dict[str, str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(p, dtype=dtypes, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise FormatError(p, f"not a readable CSV: {e}") from None
    except pd.errors.EmptyDataError:
        raise FormatError(p, "empty file (expected a header)", line=1) from None
    for c in required:
        if c not in df.columns:
            raise FormatError(p, "missing column in the header", line=1, field=c)
    df.attrs["path"] = str(p)
    return df


def read_report(path: PathLike) -> Report:
    """Read a report folder (``report.json``, ``strategies.csv``, ``cities.csv``, ``queries.csv``).

    Args:
        path: the report folder, a folder holding ``report/`` (a run folder, or the demo's
            ``out/demo``), or ``report.json`` itself.
    """
    p = Path(path)
    if p.is_file():
        p = p.parent
    if not (p / "report.json").exists() and (p / "report" / "report.json").exists():
        p = p / "report"
    rj = _existing(p / "report.json", "report (report.json)")
    data = _read_json(rj)
    if not isinstance(data, dict):
        raise FormatError(rj, f"expected a JSON object, got {_type_name(data)}", line=1)
    strategies = _read_report_csv(
        _existing(p / "strategies.csv", "report table"), ["name", "strategy", "r1"], {"name": str, "strategy": str}
    )
    queries = _read_report_csv(
        _existing(p / "queries.csv", "report table"),
        ["query_id", "name", "category"],
        {"query_id": str, "city": str, "name": str, "top1_tile": str, "category": str},
    )
    if "baseline_positive_rank" in queries:
        queries["baseline_positive_rank"] = queries["baseline_positive_rank"].astype("Int64")
    cities_path = p / "cities.csv"
    cities = (
        _read_report_csv(cities_path, ["city", "name"], {"city": str, "name": str})
        if cities_path.exists()
        else pd.DataFrame(columns=["city", "name", "n", "r1", "delta_r1"])
    )
    figs = []
    for i, f in enumerate(data.get("figures") or []):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise FormatError(rj, "expected an object with a string name", field=f"figures[{i}]")
        figs.append(
            {
                "name": f["name"],
                "title": f.get("title"),
                **{k: (str(p / f[k]) if isinstance(f.get(k), str) else None) for k in ("spec", "svg", "png")},
            }
        )
    figures = pd.DataFrame(figs, columns=["name", "title", "spec", "svg", "png"])
    return Report(path=p, data=data, strategies=strategies, cities=cities, queries=queries, figures=figures)
