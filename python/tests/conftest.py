"""Fixtures: the real georank CLI (GEORANK_BIN), its demo run once per session, a served demo.

Outputs go under $GEORANK_TEST_WORK (emptied at the start of the session; `make test` sets it
to build/test-work/python) or, without it, under pytest's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.dont_write_bytecode = True

import georank  # noqa: E402  (PYTHONPATH=python, or the installed package)

DEMO_QUERIES = 8


def pytest_report_header(config):
    return [f"georank package: {Path(georank.__file__).parent}", f"GEORANK_BIN={os.environ.get('GEORANK_BIN', '(unset)')}"]


@pytest.fixture(scope="session")
def georank_bin() -> str:
    """The georank executable; a missing one fails every test that needs it (never a skip)."""
    b = os.environ.get("GEORANK_BIN") or shutil.which("georank")
    if not b or not os.path.isfile(b):
        pytest.fail("the python tests need the georank CLI: set GEORANK_BIN=build/bin/georank", pytrace=False)
    os.environ["GEORANK_BIN"] = b
    os.environ.setdefault("GEORANK_QUIET", "1")
    return b


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    env = os.environ.get("GEORANK_TEST_WORK")
    if env:
        w = Path(env)
        if w.exists():
            shutil.rmtree(w)
        w.mkdir(parents=True)
        return w
    return tmp_path_factory.mktemp("georank-work")


@pytest.fixture(scope="session")
def demo(georank_bin, work_dir) -> Path:
    """`georank demo --out WORK/out/demo`: fixtures, embed, retrieve, five strategies, the report."""
    out = work_dir / "out" / "demo"
    proc = subprocess.run(
        [georank_bin, "demo", "--out", str(out), "--queries", str(DEMO_QUERIES)],
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"georank demo failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    assert (out / "run" / "summary.json").is_file()
    return out


@pytest.fixture(scope="session")
def demo_run(demo) -> Path:
    return demo / "run"


@pytest.fixture(scope="session")
def serve_url(georank_bin, demo, work_dir):
    """`georank serve` on the demo's run, on a free loopback port; its exit status is checked after."""
    folder = work_dir / "serve"
    folder.mkdir()
    # The service judges with its own copy of the cache, so the demo's stays as the run wrote it.
    cache = folder / "judgments.sqlite"
    shutil.copyfile(demo / "run" / "judgments.sqlite", cache)
    text = (demo / "run" / "run.resolved.toml").read_text(encoding="utf-8")
    original = str(demo / "run" / "judgments.sqlite")
    assert original in text
    config = folder / "serve.toml"
    config.write_text(text.replace(original, str(cache)), encoding="utf-8")
    port_file = folder / "port"
    log = open(folder / "serve.log", "w")
    proc = subprocess.Popen(
        [georank_bin, "serve", "--config", str(config), "--host", "127.0.0.1", "--port", "0",
         "--port-file", str(port_file), "--strategy", "pointwise-yesno"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, f"georank serve exited with {proc.returncode}: {(folder / 'serve.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "georank serve wrote no port file within 60 s"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{int(port_file.read_text().strip())}"
        georank.Client(url).wait_ready(timeout=60)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # drains, then exits 0
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    assert proc.returncode == 0, f"georank serve exited with {proc.returncode} after SIGTERM"


@pytest.fixture(scope="session")
def sim_config(demo):
    """A run config (as a dict) over the demo's candidates with the SIMULATED judge: fast."""
    return {
        "candidates": str(demo / "run" / "candidates.jsonl"),
        "dataset": {"dataset": f"vigor:{demo / 'vigor'}", "cities": "Chicago"},
        "rerank": {"judge": "simulated", "k": 5, "no-progress": True},
        "strategies": {
            "bt": {"strategy": "pairwise", "aggregate": "all-pairs-bt", "orders": "both"},
            "knockout": {"strategy": "pairwise", "aggregate": "knockout", "orders": "single"},
            "yesno": {"strategy": "pointwise-yesno"},
        },
    }
