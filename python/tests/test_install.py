"""`pip install ./python` works offline on Debian's python3, with Debian's setuptools (docs/python.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import georank

SOURCE = Path(__file__).resolve().parents[1]


def test_pip_install_into_a_venv(tmp_path, demo_run):
    # Built from a copy: pip's setuptools build writes build/ and *.egg-info beside the sources.
    src = tmp_path / "src"
    shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, (
        f"python3 -m venv failed (Debian's python3-venv and python3-pip are needed; scripts/setup "
        f"installs them):\n{made.stdout[-2000:]}{made.stderr[-2000:]}")
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL", "PIP_FIND_LINKS")}
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-index", "--no-build-isolation", "--disable-pip-version-check",
         str(src)],
        capture_output=True, text=True, env=env, timeout=180,
    )
    assert proc.returncode == 0, f"pip install failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    check = (
        "import georank, sys; "
        "df = georank.read_rankings(sys.argv[1]); "
        "print(georank.__file__); print(georank.__version__); print(len(df), df['query_id'].nunique())"
    )
    out = subprocess.run([str(py), "-c", check, str(demo_run / "candidates.jsonl")], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    where, version, counts = out.stdout.splitlines()
    assert Path(where).is_relative_to(venv)  # the installed copy, not the sources
    assert version == georank.__version__
    installed = Path(where).parent
    assert sorted(p.name for p in installed.glob("*.py")) == sorted(p.name for p in (SOURCE / "georank").glob("*.py"))
    assert (installed / "py.typed").is_file()
    assert counts == f"{len(georank.read_rankings(demo_run / 'candidates.jsonl'))} " \
                     f"{georank.read_rankings(demo_run / 'candidates.jsonl')['query_id'].nunique()}"
