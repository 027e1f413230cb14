"""Exceptions raised by the georank package."""

from __future__ import annotations

from typing import Optional, Sequence

#: What each exit status of the ``georank`` CLI means (README.md, "Exit codes").
EXIT_MEANINGS = {
    0: "success",
    1: "internal error (a bug, please report it)",
    2: "bad input or flags",
    3: "not found",
    4: "I/O error",
    5: "backend error",
    6: "timeout",
    130: "interrupted",
}


class GeorankError(Exception):
    """Base class of every error this package raises on purpose."""


class FormatError(GeorankError, ValueError):
    """A georank output that does not have the expected shape.

    The message names the file, the line (for JSONL files) or row (for SQLite and CSV
    files) where one applies, and the field.

    Attributes:
        path: the file that was read.
        line: 1-based line or row number, or ``None``.
        field: the field that is missing or malformed, or ``None``.
        reason: what is wrong with it.
    """

    def __init__(self, path: str, reason: str, *, line: Optional[int] = None, field: Optional[str] = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field {field!r}: {reason}" if field else reason
        super().__init__(f"{where}: {what}")


class CLIError(GeorankError, RuntimeError):
    """The ``georank`` CLI exited with a non-zero status.

    Attributes:
        returncode: the exit status (see :data:`EXIT_MEANINGS`).
        cmd: the command line that was run.
        stdout: what the command wrote to stdout.
        stderr: what the command wrote to stderr; its last line (before CLI11's "Run with
            --help" hint) is the cause, and ends the message.
    """

    def __init__(self, cmd: Sequence[str], returncode: int, stdout: str, stderr: str):
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        # CLI11 ends a usage error with a hint that is not the cause.
        lines = [l for l in stderr.strip().splitlines()
                 if l.strip() and not l.startswith("Run with --help for more information")]
        cause = lines[-1] if lines else "(nothing on stderr)"
        meaning = EXIT_MEANINGS.get(returncode, "unknown status")
        if returncode < 0:
            meaning = f"killed by signal {-returncode}"
        sub = " ".join(self.cmd[1:2]) or self.cmd[0]
        super().__init__(f"georank {sub} exited with status {returncode} ({meaning}): {cause}")


class ServeError(GeorankError):
    """An error answer of ``georank serve`` (``{"error": {"kind", "message"}}``).

    Attributes:
        status: the HTTP status (400, 401, 404, 413, 415, 502, 503, 504, 500), or 0 when
            the service could not be reached.
        kind: the error's kind (``invalid_argument``, ``unauthorized``, ``busy``, ...).
        message: the service's message.
        retry_after: the ``Retry-After`` header's seconds on a 503, else ``None``.
    """

    def __init__(self, status: int, kind: str, message: str, url: str, retry_after: Optional[float] = None):
        self.status = status
        self.kind = kind
        self.message = message
        self.url = url
        self.retry_after = retry_after
        head = f"HTTP {status}" if status else "no answer"
        super().__init__(f"{url}: {head} ({kind}): {message}")
