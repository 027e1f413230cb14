#!/usr/bin/env python3
"""The layer check itself: a clean tree passes, an upward include fails naming file and line."""
import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).with_name("check_layers.py")


def run(files):
    with tempfile.TemporaryDirectory() as d:
        root = pathlib.Path(d)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        r = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
        return r.returncode, r.stderr


def expect(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


clean = {
    "include/georank/core/error.hpp": "#pragma once\n",
    "include/georank/data/dataset.hpp": '#include "georank/core/error.hpp"\n',
    "src/rerank/x.cpp": '#include "georank/data/dataset.hpp"\n#include "vlm/prefix_tree.hpp"\n',
}
code, err = run(clean)
expect(code == 0, f"a clean tree passes ({err})")

up_header = dict(clean)
up_header["include/georank/data/dataset.hpp"] = '#pragma once\n\n#include "georank/rerank/rerank.hpp"\n'
code, err = run(up_header)
expect(code == 1, "a data header including a rerank header fails")
expect("include/georank/data/dataset.hpp:3" in err and "'rerank'" in err, f"the message names file, line, layer: {err}")

up_private = dict(clean)
up_private["src/core/y.cpp"] = '#include "vlm/prefix_tree.hpp"\n'
code, err = run(up_private)
expect(code == 1 and "src/core/y.cpp:1" in err, f"a private header of a higher layer fails: {err}")

sideways = dict(clean)
sideways["src/retrieval/z.cpp"] = '#include "georank/vlm/vlm.hpp"\n'
code, err = run(sideways)
expect(code == 1, "retrieval and vlm are side by side: neither includes the other")

fixture = dict(clean)
fixture["src/eval/w.cpp"] = '#include "georank/fixtures/simulation.hpp"\n'
code, err = run(fixture)
expect(code == 1, "no library layer includes the fixtures")

stray = dict(clean)
stray["include/georank/misc.hpp"] = "#pragma once\n"
code, err = run(stray)
expect(code == 1 and "not in a layer folder" in err, "a header outside the layer folders fails")
print("layer check: 6 cases behave")
