"""The ``georank`` CLI as a subprocess: ``run``, ``rerank`` and ``evaluate`` return loaded outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pandas as pd

from ._toml import dumps_toml, load_toml, loads_toml
from .errors import CLIError, FormatError
from .readers import PathLike, _flatten_metrics, meta_path_for, read_meta, read_rankings
from .runs import Run, read_run

__all__ = ["find_binary", "call", "run", "rerank", "evaluate", "flags", "RerankResult", "Completed"]


def find_binary(binary: Optional[PathLike] = None) -> str:
    """The ``georank`` executable: ``binary`` if given, else ``$GEORANK_BIN``, else ``georank`` on ``PATH``."""
    if binary is not None:
        b = os.fspath(binary)
        if os.sep in b or os.path.exists(b):
            if not os.path.isfile(b):
                raise FileNotFoundError(f"{b}: no such georank executable (binary=)")
            return b
        found = shutil.which(b)
        if not found:
            raise FileNotFoundError(f"{b}: not found on PATH (binary=)")
        return found
    env = os.environ.get("GEORANK_BIN")
    if env:
        if not os.path.isfile(env):
            raise FileNotFoundError(f"{env}: no such georank executable (GEORANK_BIN)")
        return env
    found = shutil.which("georank")
    if not found:
        raise FileNotFoundError(
            "georank executable not found: pass binary=, set GEORANK_BIN, or put georank on PATH "
            "(it is built as build/bin/georank)"
        )
    return found


def flags(options: Mapping[str, Any]) -> List[str]:
    """Command-line flags from keyword options: ``n_gpu_layers=-1`` -> ``--n-gpu-layers=-1``.

    ``True`` gives the bare flag, ``False`` gives ``--flag=false``, ``None`` is left out, and
    a list or tuple repeats the flag once per item (``servers=[a, b]``, ``k=[1, 5]``).
    """
    out: List[str] = []
    for name, value in options.items():
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else f"{flag}=false")
        elif isinstance(value, (list, tuple)):
            out.extend(f"{flag}={os.fspath(v) if isinstance(v, os.PathLike) else v}" for v in value)
        else:
            out.append(f"{flag}={os.fspath(value) if isinstance(value, os.PathLike) else value}")
    return out


@dataclass
class Completed:
    """A successful CLI call: its command line, stdout and stderr."""

    cmd: List[str]
    stdout: str
    stderr: str


def call(
    args: Sequence[Union[str, "os.PathLike[str]"]],
    *,
    binary: Optional[PathLike] = None,
    cwd: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
) -> Completed:
    """Run ``georank ARGS...`` and wait for it.

    Args:
        args: the subcommand and its flags (``["eval", "--dataset=...", ...]``).
        binary: the executable (see :func:`find_binary`).
        cwd: the working folder (relative paths in flags and configs are relative to it).
        env: variables added to this process's environment (``{"GEORANK_QUIET": "1"}``).
        timeout: seconds before the process is killed (:class:`subprocess.TimeoutExpired`).

    Raises:
        CLIError: on a non-zero exit, with the exit code and stderr.
    """
    cmd = [find_binary(binary)] + [os.fspath(a) for a in args]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        cmd,
        cwd=os.fspath(cwd) if cwd is not None else None,
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise CLIError(cmd, proc.returncode, proc.stdout, proc.stderr)
    return Completed(cmd, proc.stdout, proc.stderr)


def _out_dir(config: Mapping[str, Any], out: Optional[PathLike], cwd: Optional[PathLike]) -> Path:
    chosen = out if out is not None else config.get("out", "out/run")  # the CLI's default
    p = Path(os.fspath(chosen))
    return p if p.is_absolute() else Path(os.fspath(cwd) if cwd is not None else os.getcwd()) / p


def run(
    config: Union[PathLike, Mapping[str, Any]],
    out: Optional[PathLike] = None,
    *,
    dry_run: bool = False,
    report: bool = True,
    binary: Optional[PathLike] = None,
    cwd: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
) -> Union[Run, Dict[str, Any]]:
    """``georank run --config CONFIG``: a whole experiment; returns its outputs as a :class:`Run`.

    Args:
        config: a run config file (TOML), or the same as a mapping (``{"dataset":
            {...}, "rerank": {...}, "strategies": {"bt": {...}}}``; tables are nested
            mappings, strategies run in the mapping's order). A mapping is written to
            ``OUT/run.input.toml`` and run from there.
        out: the output folder instead of the config's ``out`` (default ``out/run``).
        dry_run: check every step and return the resolved config (a dict) without running.
        report: also write ``OUT/report`` (``--no-report`` when false).
        binary, cwd, env, timeout: as for :func:`call`.

    Raises:
        CLIError: when georank exits non-zero (bad config: status 2, missing file: 3, ...).
    """
    if isinstance(config, Mapping):
        out_dir = _out_dir(config, out, cwd)
        if dry_run:
            tmp = tempfile.TemporaryDirectory(prefix="georank-config-")
            config_path = Path(tmp.name) / "run.toml"
        else:
            tmp = None
            out_dir.mkdir(parents=True, exist_ok=True)
            config_path = out_dir / "run.input.toml"
        config_path.write_text(dumps_toml(config), encoding="utf-8")
    else:
        tmp = None
        config_path = Path(os.fspath(config))
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path}: no such run config")
        out_dir = _out_dir(load_toml(config_path), out, cwd)
    args: List[str] = ["run", f"--config={config_path}"]
    if out is not None:
        args.append(f"--out={os.fspath(out)}")
    if dry_run:
        args.append("--dry-run")
    if not report:
        args.append("--no-report")
    try:
        done = call(args, binary=binary, cwd=cwd, env=env, timeout=timeout)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if dry_run:
        return loads_toml(done.stdout, "georank run --dry-run")
    if not (out_dir / "summary.json").exists():
        raise FormatError(out_dir / "summary.json", "georank run succeeded but wrote no summary here")
    return read_run(out_dir)


@dataclass
class RerankResult:
    """What :func:`rerank` wrote: the reranked rankings and their meta sidecar.

    Attributes:
        path: the reranked JSONL.
        rankings: :func:`read_rankings` of it.
        meta: :func:`read_meta` of its sidecar (one row; ``meta.attrs["meta"]`` is the dict).
        stderr: what georank printed (the summary line: judgments computed, from the cache, ...).
    """

    path: Path
    rankings: pd.DataFrame
    meta: pd.DataFrame
    stderr: str

    @property
    def counts(self) -> Dict[str, Any]:
        """The sidecar's ``counts``: judgments, backend_calls, cache_hits, unparsed, queries, rounds."""
        return dict(self.meta.attrs["meta"].get("counts", {}))


def rerank(
    dataset: str,
    candidates: PathLike,
    out: PathLike,
    *,
    strategy: str = "pairwise",
    cache: Optional[PathLike] = None,
    binary: Optional[PathLike] = None,
    cwd: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    **options: Any,
) -> RerankResult:
    """``georank rerank``: rerank the top-k candidates of each query with a VLM judge.

    Args:
        dataset: ``vigor:ROOT`` or ``manifest:DIR``.
        candidates: the candidates (``georank retrieve``'s JSONL, or a CSV).
        out: the reranked JSONL to write (its sidecar is ``<out>.meta.json``).
        strategy: ``pairwise``, ``pointwise-yesno``, ``listwise``, ... (``georank rerank --help``).
        cache: the judgment cache (SQLite).
        **options: any other flag of ``georank rerank``, underscores for dashes:
            ``aggregate="knockout"``, ``orders="single"``, ``k=5``, ``model=..., mmproj=...``,
            ``servers=["http://..."]``, ``judge="simulated"``, ``cities="Chicago"``,
            ``no_progress=True``. See :func:`flags`.
        binary, cwd, env, timeout: as for :func:`call`.

    Raises:
        CLIError: when georank exits non-zero.
    """
    opts: Dict[str, Any] = {"dataset": dataset, "candidates": candidates, "out": out, "strategy": strategy,
                            "cache": cache}
    opts.update(options)
    done = call(["rerank"] + flags(opts), binary=binary, cwd=cwd, env=env, timeout=timeout)
    path = Path(os.fspath(out))
    if not path.is_absolute() and cwd is not None:
        path = Path(os.fspath(cwd)) / path
    return RerankResult(path=path, rankings=read_rankings(path), meta=read_meta(meta_path_for(path)), stderr=done.stderr)


def evaluate(
    dataset: str,
    rankings: PathLike,
    *,
    binary: Optional[PathLike] = None,
    cwd: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    **options: Any,
) -> pd.DataFrame:
    """``georank eval --json``: retrieval metrics of a rankings file, as :func:`georank.read_metrics` frames them.

    Args:
        dataset: ``vigor:ROOT`` or ``manifest:DIR``.
        rankings: a rankings JSONL or candidates CSV.
        **options: other flags of ``georank eval`` (``k=[1, 5, 10]``, ``meters=[5, 25]``,
            ``cities="Chicago"``, ``protocol="same-area"``).

    Returns:
        One row (``r1``, ``r5``, ..., ``mrr``, ``hit_rate``, ``meter_error_median``, ...).
    """
    opts: Dict[str, Any] = {"dataset": dataset, "rankings": rankings}
    opts.update(options)
    done = call(["eval"] + flags(opts) + ["--json"], binary=binary, cwd=cwd, env=env, timeout=timeout)
    try:
        metrics = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise FormatError("georank eval --json (stdout)", f"invalid JSON: {e.msg}", line=e.lineno) from None
    df = pd.DataFrame([_flatten_metrics(metrics, Path("georank eval --json (stdout)"), "")])
    df.attrs["rankings"] = os.fspath(rankings)
    return df
