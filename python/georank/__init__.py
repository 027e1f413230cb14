"""georank from Python: load georank's outputs into pandas, run the CLI, talk to ``georank serve``.

The package is pure Python. It reads the files georank writes (rankings JSONL, meta
sidecars, run summaries, eval metrics, the SQLite judgment cache, embeddings, reports),
calls the ``georank`` executable as a subprocess (``run``, ``rerank``, ``evaluate``), and
talks to the HTTP service with :class:`Client`. See docs/python.md.
"""

from .cli import Completed, RerankResult, call, evaluate, find_binary, flags, rerank, run
from .client import Client, Localization
from .errors import CLIError, EXIT_MEANINGS, FormatError, GeorankError, ServeError
from .readers import (
    RANKING_COLUMNS,
    Report,
    meta_path_for,
    read_comparisons,
    read_embeddings,
    read_judges,
    read_judgments,
    read_meta,
    read_metrics,
    read_rankings,
    read_report,
    read_summary,
)
from .runs import Run, read_run

__version__ = "0.1.0"

__all__ = [
    "CLIError",
    "Client",
    "Completed",
    "EXIT_MEANINGS",
    "FormatError",
    "GeorankError",
    "Localization",
    "RANKING_COLUMNS",
    "RerankResult",
    "Report",
    "Run",
    "ServeError",
    "call",
    "evaluate",
    "find_binary",
    "flags",
    "meta_path_for",
    "read_comparisons",
    "read_embeddings",
    "read_judges",
    "read_judgments",
    "read_meta",
    "read_metrics",
    "read_rankings",
    "read_report",
    "read_run",
    "read_summary",
    "rerank",
    "run",
    "__version__",
]
