"""TOML in and out: run configs given as dicts are written for ``georank run --config``."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping

try:  # Python >= 3.11
    import tomllib as _tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _tomllib  # type: ignore[no-redef]

from .errors import FormatError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def load_toml(path: "os.PathLike[str] | str") -> Dict[str, Any]:
    """Parse a TOML file; a syntax error is a :class:`FormatError` naming the file."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            return _tomllib.load(f)
    except _tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise FormatError(p, f"invalid TOML: {e}", line=int(m.group(1)) if m else None) from None


def loads_toml(text: str, source: str = "<text>") -> Dict[str, Any]:
    try:
        return _tomllib.loads(text)
    except _tomllib.TOMLDecodeError as e:
        raise FormatError(source, f"invalid TOML: {e}") from None


def _key(k: Any, where: str) -> str:
    if not isinstance(k, str) or not k:
        raise TypeError(f"config {where}: keys must be non-empty strings, got {k!r}")
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any, where: str) -> str:
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string is a JSON string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, where) for x in v) + "]"
    raise TypeError(f"config {where}: cannot write a {type(v).__name__} as a TOML value")


def dumps_toml(config: Mapping[str, Any]) -> str:
    """Write a nested mapping as TOML: scalars and lists first, then one table per mapping.

    Tables keep the mapping's order, which for ``[strategies.<name>]`` is the run order.
    """
    lines: List[str] = []

    def table(d: Mapping[str, Any], prefix: List[str]) -> None:
        subtables = []
        for k, v in d.items():
            if v is None:
                continue
            if isinstance(v, Mapping):
                subtables.append((k, v))
            else:
                lines.append(f"{_key(k, '.'.join(prefix) or 'top level')} = {_value(v, '.'.join(prefix + [str(k)]))}")
        for k, v in subtables:
            name = prefix + [_key(k, ".".join(prefix) or "top level")]
            scalars = any(not isinstance(x, Mapping) and x is not None for x in v.values())
            if scalars or not v:
                lines.append("")
                lines.append("[" + ".".join(name) + "]")
            table(v, name)

    table(config, [])
    return "\n".join(lines).lstrip("\n") + "\n"
