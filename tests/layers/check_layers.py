#!/usr/bin/env python3
"""Fails when a file of a library layer includes a layer above its own.

Layers (CMakeLists.txt): core <- data <- retrieval, vlm <- rerank <- eval, with runtime (the
native set-up) beside core and below vlm, and fixtures on top. A file in include/georank/<L>/
or src/<L>/ may include "georank/<M>/..." and "<M>/..." (a private header of src/<M>/) only
for M in the layers <L> links. Usage: check_layers.py [ROOT] (default: the repository).
"""
import pathlib
import re
import sys

BELOW = {
    "core": {"core"},
    "runtime": {"core", "runtime"},
    "data": {"core", "data"},
    "retrieval": {"core", "data", "retrieval"},
    "vlm": {"core", "runtime", "data", "vlm"},
    "rerank": {"core", "runtime", "data", "vlm", "rerank"},
    "eval": {"core", "runtime", "data", "retrieval", "vlm", "rerank", "eval"},
    "serve": {"core", "runtime", "data", "retrieval", "vlm", "rerank", "eval", "serve"},
}
BELOW["fixtures"] = set(BELOW) | {"fixtures"}
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def layer_of_include(path):
    parts = path.split("/")
    if parts[0] == "georank" and len(parts) > 2:
        return parts[1]
    if len(parts) > 1 and parts[0] in BELOW:
        return parts[0]
    return None


def check(root):
    problems = []
    files = 0
    for top in ("include/georank", "src"):
        base = root / top
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*")):
            if f.suffix not in (".hpp", ".cpp", ".h"):
                continue
            layer = f.relative_to(base).parts[0]
            rel = f.relative_to(root)
            if layer not in BELOW:
                problems.append(f"{rel}: not in a layer folder ({', '.join(BELOW)})")
                continue
            files += 1
            text = f.read_text(encoding="utf-8")
            for m in INCLUDE.finditer(text):
                target = layer_of_include(m.group(1))
                if target is None:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                if target not in BELOW:
                    problems.append(f"{rel}:{line}: includes \"{m.group(1)}\", which is in no layer")
                elif target not in BELOW[layer]:
                    problems.append(f"{rel}:{line}: layer '{layer}' includes \"{m.group(1)}\" "
                                    f"of layer '{target}', which is not below it")
    return files, problems


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    files, problems = check(root)
    for p in problems:
        print(p, file=sys.stderr)
    if files == 0:
        print(f"{root}: no layer files found", file=sys.stderr)
        return 1
    if problems:
        print(f"{len(problems)} include(s) against the layer order", file=sys.stderr)
        return 1
    print(f"{files} files, every include points at the same layer or one below it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
