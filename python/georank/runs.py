"""A finished ``georank run`` as one object: its summary, rankings, meta, judgments and report."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pandas as pd

from ._toml import load_toml
from .errors import FormatError
from .readers import (
    PathLike,
    Report,
    read_judgments,
    read_meta,
    read_rankings,
    read_report,
    read_summary,
)

__all__ = ["Run", "read_run"]


class _LazyFrames(Mapping):
    """A read-only mapping whose values are loaded on first access and kept."""

    def __init__(self, paths: Dict[str, Path], load: Callable[[Path], Any]):
        self._paths = paths
        self._load = load
        self._cache: Dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._paths:
            raise KeyError(f"{name!r} (the run has: {', '.join(self._paths) or 'none'})")
        if name not in self._cache:
            self._cache[name] = self._load(self._paths[name])
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def path(self, name: str) -> Path:
        """The file that ``self[name]`` is read from."""
        return self._paths[name]

    def __repr__(self) -> str:
        return f"<{len(self)} loaded on access: {', '.join(self._paths)}>"


def _relocate(recorded: str, old_out: Optional[str], run_dir: Path) -> Path:
    """A path the run recorded, found again when the run folder was moved or copied."""
    p = Path(recorded)
    if old_out:
        try:
            rel = p.relative_to(old_out)
        except ValueError:
            rel = None
        if rel is not None and (run_dir / rel).exists():
            return run_dir / rel
    if p.exists():
        return p
    if (run_dir / p.name).exists():
        return run_dir / p.name
    return p


class Run:
    """The outputs of one ``georank run`` (``read_run(dir)`` makes one).

    Attributes:
        path: the run folder (the one holding ``summary.json``).
        summary: :func:`read_summary` of ``summary.json`` (one row per strategy and the baseline).
        config: ``run.resolved.toml``, parsed: every setting of the run.
        strategies: the strategies' names, in run order.
        rankings: name -> :func:`read_rankings` frame of ``reranked-<name>.jsonl``, read
            on first access (``run.rankings.path(name)`` is the file).
        meta: name -> :func:`read_meta` frame of the strategy's sidecar, read on first access.
        caches: the judgment caches the strategies used (existing files only).
    """

    def __init__(self, path: PathLike):
        p = Path(path)
        if p.is_file():
            p = p.parent
        if not (p / "summary.json").exists() and (p / "run" / "summary.json").exists():
            self._root: Optional[Path] = p  # the demo's layout: out/demo/{run,report}
            p = p / "run"
        else:
            self._root = None
        self.path = p
        self.summary = read_summary(p / "summary.json")
        resolved = p / "run.resolved.toml"
        self.config: Dict[str, Any] = load_toml(resolved) if resolved.exists() else dict(self.summary.attrs.get("config") or {})
        cfg = self.summary.attrs.get("config") or {}
        old_out = cfg.get("out") if isinstance(cfg.get("out"), str) else None
        steps = self.summary.attrs.get("steps") or []
        summary_file = self.summary.attrs["path"]
        rankings: Dict[str, Path] = {}
        self._candidates: Optional[Path] = None
        for i, s in enumerate(steps):
            if not isinstance(s, dict) or not isinstance(s.get("out"), str):
                raise FormatError(summary_file, "expected an object with a string \"out\"", field=f"steps[{i}]")
            if s.get("step") == "rerank":
                rankings[str(s.get("strategy"))] = _relocate(s["out"], old_out, p)
            elif s.get("step") == "retrieve":
                self._candidates = _relocate(s["out"], old_out, p)
        base = self.summary[self.summary["kind"] == "baseline"]
        if self._candidates is None and len(base) and isinstance(base["file"].iloc[0], str):
            self._candidates = _relocate(base["file"].iloc[0], old_out, p)  # imported candidates
        if not steps:  # an older summary: the files by name
            for f in sorted(p.glob("reranked-*.jsonl")):
                rankings[f.stem[len("reranked-"):]] = f
        self.strategies: List[str] = list(rankings)
        self.rankings = _LazyFrames(rankings, read_rankings)
        self.meta = _LazyFrames(rankings, read_meta)
        caches: List[Path] = []
        for name in self.strategies:
            c = ((cfg.get("strategies") or {}).get(name) or {}).get("cache")
            if isinstance(c, str) and c:
                cp = _relocate(c, old_out, p)
                if cp.exists() and cp not in caches:
                    caches.append(cp)
        self.caches = caches

    @property
    def candidates_path(self) -> Optional[Path]:
        """The retrieval candidates the strategies reranked (the run's own or imported)."""
        return self._candidates

    @functools.cached_property
    def candidates(self) -> pd.DataFrame:
        """:func:`read_rankings` of the candidates (the baseline)."""
        if self._candidates is None:
            raise FileNotFoundError(f"{self.path}: the summary names no candidates file")
        return read_rankings(self._candidates)

    @functools.cached_property
    def judgments(self) -> pd.DataFrame:
        """:func:`read_judgments` of the run's judgment cache(s), with a ``cache`` column."""
        frames = []
        for c in self.caches:
            df = read_judgments(c)
            df.insert(0, "cache", str(c))
            frames.append(df)
        if not frames:
            raise FileNotFoundError(f"{self.path}: the run's strategies name no existing judgment cache")
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    @functools.cached_property
    def report(self) -> Optional[Report]:
        """:func:`read_report` of the run's report, or ``None`` when there is none.

        Looked for in ``RUN_DIR/report`` (``georank run``'s place), then beside the run
        folder (the demo's ``out/demo/report``) when its ``report.json`` names this run.
        """
        own = self.path / "report"
        if (own / "report.json").exists():
            return read_report(own)
        sibling = self.path.parent / "report"
        if (sibling / "report.json").exists():
            rep = read_report(sibling)
            run_dir = rep.data.get("run_dir")
            if self._root is not None or (isinstance(run_dir, str) and Path(run_dir).resolve() == self.path.resolve()):
                return rep
        return None

    def all_rankings(self, *, include_baseline: bool = True) -> pd.DataFrame:
        """Every strategy's rankings in one frame, with a ``strategy`` column first.

        The baseline's rows (the candidates) are named ``baseline`` as in the report.
        """
        frames = []
        if include_baseline and self._candidates is not None:
            frames.append(self.candidates.assign(strategy="baseline"))
        for name in self.strategies:
            frames.append(self.rankings[name].assign(strategy=name))
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        return df[["strategy"] + [c for c in df.columns if c != "strategy"]]

    def top1(self) -> pd.DataFrame:
        """One row per query and strategy (and the baseline): the top-1 tile and whether it is the positive."""
        df = self.all_rankings()
        df = df[df["rank"] == 0]
        return df[["strategy", "query_id", "tile_id", "positive", "score"]].reset_index(drop=True)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, strategies={self.strategies})"


def read_run(path: PathLike) -> Run:
    """Read a ``georank run`` output folder (or the demo's ``out/demo``) as a :class:`Run`."""
    return Run(path)
