#!/usr/bin/env python3
"""Checks the scale-out recipes (deploy/ and docs/scale-out.md) without running them.

- every deploy/**/*.yaml parses (yaml.safe_load_all); Kubernetes Jobs are well formed: a
  Job that runs `georank ... --shard` is an Indexed Job with completions == parallelism, takes
  its shard index from JOB_COMPLETION_INDEX, has as many shards as completions and writes
  per-shard outputs; a Job that runs `georank merge` lists exactly the shards' outputs;
  mounts name defined volumes, PVCs and ConfigMaps exist in deploy/; a run config in a
  ConfigMap (or a ```toml block of the docs) is read by `georank run --dry-run` (unknown
  tables, keys or values are errors, missing files are not); Compose replicas of one model
  use distinct ports and GPUs and serve the same model;
- every deploy/**/*.sh and *.sbatch passes `bash -n`, starts with a bash shebang and sets
  `set -euo pipefail`; scripts are executable; #SBATCH lines come before the first command;
  the Slurm recipe has an array job with --shard from SLURM_ARRAY_TASK_ID, a merge and a
  submission with --dependency=afterok;
- every `georank <subcommand>` and every `--flag` given to it in deploy/ files and in the
  shell code blocks of docs/scale-out.md exists in `$GEORANK_BIN <subcommand> --help`
  (GEORANK_BIN, default build/bin/georank). Flags collected in a bash array (`args=(...)`,
  `args+=(...)`) count for the georank command that expands "${args[@]}".
- docs/scale-out.md names every file of deploy/, every deploy/ path it names exists, and it
  has the sections the benchmarks fill.

`georank merge` and `--shard` must exist too, unless GEORANK_ALLOW_PENDING=1 is set and the
binary's --help lacks them (they are then reported as pending, not failed).

Exit status 0 when everything holds; 1 with one line per failure otherwise.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOC = ROOT / "docs" / "scale-out.md"
PENDING_SUBCOMMANDS = {"merge"}
PENDING_FLAGS = {"--shard"}
REQUIRED_DOC_SECTIONS = ["## City-scale galleries", "## Routing across judge endpoints"]
COMPLETION_INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

failures: list[str] = []
pending: set[str] = set()
commands_checked = 0


def fail(where: str, message: str) -> None:
    failures.append(f"{where}: {message}")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def georank_bin() -> str:
    value = os.environ.get("GEORANK_BIN", "build/bin/georank")
    path = Path(value)
    if not path.is_absolute():
        path = ROOT / path
    return str(path)


ALLOW_PENDING = os.environ.get("GEORANK_ALLOW_PENDING") == "1"


# --- the CLI's own --help ------------------------------------------------------------------


@lru_cache(maxsize=None)
def help_text(path: tuple[str, ...]) -> str | None:
    """`georank PATH... --help`, or None when the command does not exist."""
    env = dict(os.environ, GEORANK_QUIET="1")
    try:
        out = subprocess.run([georank_bin(), *path, "--help"], capture_output=True, text=True,
                             timeout=60, env=env, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("GEORANK_BIN", f"cannot run {georank_bin()} {' '.join(path)} --help: {e}")
        return None
    return out.stdout if out.returncode == 0 else None


def help_section(text: str, title: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            inside = line.strip() == title
            continue
        if inside:
            lines.append(line)
    return lines


@lru_cache(maxsize=None)
def subcommands(path: tuple[str, ...]) -> frozenset[str]:
    text = help_text(path) or ""
    names = set()
    for line in help_section(text, "Subcommands:"):
        m = re.match(r"^  (\S+)\s", line + " ")
        if m:
            names.add(m.group(1))
    return frozenset(names)


@lru_cache(maxsize=None)
def flags_of(path: tuple[str, ...]) -> frozenset[str]:
    text = help_text(path) or ""
    flags = set()
    for line in help_section(text, "Options:"):
        m = re.match(r"^  (-\S+)", line)
        if not m:
            continue
        for name in m.group(1).split(","):
            name = re.sub(r"\{.*$", "", name)
            if name.startswith("--"):
                flags.add(name)
    return frozenset(flags)


# --- shell words ---------------------------------------------------------------------------

SEP, OPEN, CLOSE = "\x00sep", "\x00open", "\x00close"


def matching(text: str, k: int) -> int:
    """Index of the bracket closing text[k] ('(' or '{'), skipping quotes and escapes."""
    opener = text[k]
    closer = ")" if opener == "(" else "}"
    depth, i = 0, k
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and opener == "(":
            j = text.find("'", i + 1)
            i = len(text) if j < 0 else j + 1
            continue
        if c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1


def shell_tokens(text: str, substitutions: list[str]) -> list[str]:
    """Words (quotes removed, $(...) and ${...} kept as written) and SEP/OPEN/CLOSE marks.
    The inner text of command and process substitutions is appended to `substitutions`."""
    toks: list[str] = []
    word: str | None = None
    skip_target = False  # the next word is a redirection target
    array_depth = 0
    i, n = 0, len(text)

    def flush() -> None:
        nonlocal word, skip_target
        if word is not None:
            if skip_target:
                skip_target = False
            else:
                toks.append(word)
        word = None

    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                continue
            word = (word or "") + (text[i + 1] if i + 1 < n else "")
            i += 2
            continue
        if c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            word = (word or "") + text[i + 1:j]
            i = j + 1
            continue
        if c == '"':
            i += 1
            buf = ""
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    buf += "" if text[i + 1] == "\n" else text[i + 1]
                    i += 2
                    continue
                if text[i] == "$" and i + 1 < n and text[i + 1] in "({":
                    j = matching(text, i + 1)
                    if text[i + 1] == "(":
                        substitutions.append(text[i + 2:j])
                    buf += text[i:j + 1]
                    i = j + 1
                    continue
                buf += text[i]
                i += 1
            word = (word or "") + buf
            i += 1
            continue
        if c == "$" and i + 1 < n and text[i + 1] in "({":
            j = matching(text, i + 1)
            if text[i + 1] == "(":
                substitutions.append(text[i + 2:j])
            word = (word or "") + text[i:j + 1]
            i = j + 1
            continue
        if c in "<>" and i + 1 < n and text[i + 1] == "(":  # process substitution
            flush()
            skip_target = False  # it was the target of `< <(...)`
            j = matching(text, i + 1)
            substitutions.append(text[i + 2:j])
            i = j + 1
            continue
        if c in "<>":
            if word is not None and word.isdigit():
                word = None  # a file descriptor (2>&1)
            flush()
            while i < n and text[i] in "<>":
                i += 1
            if i < n and text[i] == "&":
                i += 1
                while i < n and (text[i].isdigit() or text[i] == "-"):
                    i += 1
            else:
                skip_target = True
            continue
        if c == "#" and word is None:
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in " \t\r":
            flush()
            i += 1
            continue
        if c == "\n" or c in ";&|":
            flush()
            if array_depth == 0:
                toks.append(SEP)
            i += 1
            continue
        if c == "(":
            if word is not None and word.endswith("="):
                flush()
                toks.append(OPEN)
                array_depth += 1
            else:
                flush()
                toks.append(SEP)
            i += 1
            continue
        if c == ")":
            flush()
            if array_depth > 0:
                toks.append(CLOSE)
                array_depth -= 1
            else:
                toks.append(SEP)
            i += 1
            continue
        word = (word or "") + c
        i += 1
    flush()
    return toks


def is_georank(word: str) -> bool:
    if "=" in word:
        return False  # an assignment (GEORANK=${GEORANK:-georank})
    return word in ("georank", "$GEORANK", "${GEORANK}", "$GEORANK_BIN", "${GEORANK_BIN}") or \
        word.endswith("/georank")


def georank_commands(tokens: list[str]) -> tuple[list[list[str]], dict[str, list[str]]]:
    """The argument lists of georank commands in `tokens`, and the bash arrays assigned."""
    arrays: dict[str, list[str]] = {}
    for k, tok in enumerate(tokens):
        if tok.endswith("=") and k + 1 < len(tokens) and tokens[k + 1] == OPEN:
            name = tok[:-1].rstrip("+")
            values = arrays.setdefault(name, [])
            for t in tokens[k + 2:]:
                if t == CLOSE:
                    break
                values.append(t)
    commands = []
    for k, tok in enumerate(tokens):
        if tok in (SEP, OPEN, CLOSE) or not is_georank(tok):
            continue
        args = []
        for t in tokens[k + 1:]:
            if t in (SEP, OPEN, CLOSE):
                break
            m = re.fullmatch(r"\$\{(\w+)\[@\]\}", t)
            args.extend(arrays.get(m.group(1), []) if m else [t])
        commands.append(args)
    return commands, arrays


def shell_commands(text: str) -> list[list[str]]:
    """georank commands in a shell text, command substitutions included."""
    found, queue = [], [text]
    while queue:
        subs: list[str] = []
        commands, _ = georank_commands(shell_tokens(queue.pop(), subs))
        found.extend(commands)
        queue.extend(subs)
    return found


# --- one georank command against its --help ----------------------------------------------


def value_after(args: list[str], flag: str) -> str | None:
    for k, a in enumerate(args):
        if a == flag and k + 1 < len(args):
            return args[k + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None


def check_command(where: str, args: list[str]) -> tuple[str, ...] | None:
    """Checks a georank command's subcommand and flags; returns its subcommand path."""
    global commands_checked
    if not args:
        return None
    commands_checked += 1
    sub = args[0]
    if sub.startswith("-"):
        return None  # georank --help / --version
    if "$" in sub:
        fail(where, f"georank subcommand '{sub}' is not literal: it cannot be checked")
        return None
    top = subcommands(())
    if not top:
        fail(where, f"{georank_bin()} --help lists no subcommands (GEORANK_BIN)")
        return None
    if sub not in top:
        if sub in PENDING_SUBCOMMANDS and ALLOW_PENDING:
            pending.add(f"georank {sub}")
            return (sub,)
        fail(where, f"'georank {sub}' is not a subcommand of {georank_bin()}")
        return None
    path = (sub,)
    rest = args[1:]
    if rest and rest[0] in subcommands(path):
        path, rest = path + (rest[0],), rest[1:]
    known = flags_of(path)
    for a in rest:
        if not a.startswith("--"):
            continue
        flag = a.split("=", 1)[0]
        if flag in known or flag == "--":
            continue
        if flag in PENDING_FLAGS and ALLOW_PENDING:
            pending.add(f"georank {' '.join(path)} {flag}")
            continue
        fail(where, f"'georank {' '.join(path)}' has no flag {flag} (see {' '.join(path)} --help)")
    shard = value_after(rest, "--shard")
    if shard is not None:
        m = re.fullmatch(r"(\d+)/(\d+)", shard)
        if m and not int(m.group(1)) < int(m.group(2)):
            fail(where, f"--shard {shard}: the index must be 0..N-1")
        out = value_after(rest, "--out") or value_after(rest, "--out-dir")
        if out is None:
            fail(where, f"'georank {' '.join(path)} --shard' without --out/--out-dir of its own")
        elif "$" not in out and not (m and m.group(1) in out):
            fail(where, f"--shard {shard} writes to '{out}', the same for every shard")
    return path


# --- run configs -----------------------------------------------------------------------------


def check_run_config(where: str, toml_text: str) -> None:
    """`georank run --dry-run` reads the config: a wrong table, key or value is exit code 2."""
    if help_text(("run",)) is None:
        fail(where, "cannot check the run config: no 'georank run'")
        return
    with tempfile.TemporaryDirectory(prefix="georank-check-deploy-") as tmp:
        config = Path(tmp) / "run.toml"
        config.write_text(toml_text)
        out = subprocess.run([georank_bin(), "run", "--config", str(config), "--dry-run"],
                             capture_output=True, text=True, timeout=60, cwd=tmp,
                             env=dict(os.environ, GEORANK_QUIET="1"))
    if out.returncode in (0, 3, 4):  # fine, or a file of the recipe's machines is not here
        return
    last = (out.stderr.strip().splitlines() or ["(no message)"])[-1].replace(str(config), "run.toml")
    fail(where, f"georank run --dry-run rejects the run config (exit {out.returncode}): {last}")


# --- shell files -----------------------------------------------------------------------------


def bash_n(where: str, text: str, shell: str = "bash") -> None:
    out = subprocess.run([shell, "-n"], input=text, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        fail(where, f"{shell} -n: {out.stderr.strip()}")


def check_shell_file(path: Path) -> list[list[str]]:
    where = rel(path)
    text = path.read_text()
    bash_n(where, text)
    lines = text.splitlines()
    if not lines or not re.match(r"^#!(/bin/bash|/usr/bin/env bash)\s*$", lines[0]):
        fail(where, "the first line is not a bash shebang (#!/bin/bash or #!/usr/bin/env bash)")
    if not any(line.strip() == "set -euo pipefail" for line in lines):
        fail(where, "no 'set -euo pipefail'")
    if path.suffix == ".sh" and not os.stat(path).st_mode & stat.S_IXUSR:
        fail(where, "not executable (chmod +x)")
    if path.suffix == ".sbatch":
        first_command = next((k for k, line in enumerate(lines)
                              if line.strip() and not line.lstrip().startswith("#")), len(lines))
        for k, line in enumerate(lines):
            if line.startswith("#SBATCH") and k > first_command:
                fail(f"{where}:{k + 1}", "#SBATCH after the first command: Slurm ignores it")
    commands = shell_commands(text)
    for args in commands:
        check_command(where, args)
    return commands


def check_slurm(commands: dict[Path, list[list[str]]]) -> None:
    slurm = DEPLOY / "slurm"
    if not slurm.is_dir():
        fail("deploy/slurm", "missing")
        return
    files = {p: p.read_text() for p in sorted(slurm.iterdir()) if p.suffix in (".sh", ".sbatch")}
    arrays = [p for p in files if p.suffix == ".sbatch"
              and any("--shard" in a for a in commands.get(p, []))]
    if not arrays:
        fail("deploy/slurm", "no .sbatch runs a georank command with --shard")
    for p in arrays:
        for args in commands[p]:
            shard = value_after(args, "--shard")
            if shard is not None and "SLURM_ARRAY_TASK_ID" not in shard:
                fail(rel(p), f"--shard {shard} does not come from SLURM_ARRAY_TASK_ID")
    if not any(args and args[0] == "merge" for p in files if p.suffix == ".sbatch"
               for args in commands.get(p, [])):
        fail("deploy/slurm", "no .sbatch runs georank merge")
    if not any(re.search(r"--dependency[= ]\"?afterok:", t) for t in files.values()):
        fail("deploy/slurm", "nothing submits the merge with --dependency=afterok:<array job>")


# --- YAML: Kubernetes and Compose ------------------------------------------------------------


def resolve_k8s(word: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of command and args, for variables with literal values."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), word)


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    return None


def container_commands(where: str, container: dict) -> list[list[str]]:
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    if len(words) >= 3 and Path(words[0]).name in ("sh", "bash") and words[1] == "-c":
        bash_n(f"{where} (the {words[0]} -c script)", words[2], shell=Path(words[0]).name)
        return shell_commands(words[2])
    for k, w in enumerate(words):
        if is_georank(w) or Path(w).name == "georank":
            return [words[k + 1:]]
    return []


def literal_env(container: dict) -> tuple[dict[str, str], set[str]]:
    """Literal env values, and the names bound to the Job's completion index."""
    values, index_vars = {}, {"JOB_COMPLETION_INDEX"}
    for e in container.get("env") or []:
        if "value" in e:
            values[e["name"]] = str(e["value"])
        field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field == COMPLETION_INDEX_FIELD:
            index_vars.add(e["name"])
    return values, index_vars


def check_kubernetes(docs: list[tuple[str, dict]]) -> None:
    defined = {(d.get("kind"), (d.get("metadata") or {}).get("name")) for _, d in docs}
    shard_jobs: list[tuple[str, int, str]] = []  # where, N, --out pattern
    merges: list[tuple[str, list[str], str]] = []  # where, inputs, --out
    for where, doc in docs:
        kind = doc.get("kind")
        if kind == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if key.endswith(".toml") and "[dataset]" in str(value):
                    check_run_config(f"{where} (ConfigMap data {key})", str(value))
                elif key.endswith(".sh"):
                    bash_n(f"{where} (ConfigMap data {key})", str(value))
                    for args in shell_commands(str(value)):
                        check_command(f"{where} (ConfigMap data {key})", args)
        spec = pod_spec(doc)
        if spec is None:
            continue
        name = (doc.get("metadata") or {}).get("name", "?")
        here = f"{where} ({kind} {name})"
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for v in volumes.values():
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and ("PersistentVolumeClaim", claim) not in defined:
                fail(here, f"volume '{v.get('name')}' claims PVC '{claim}', defined nowhere in deploy/")
            cm = (v.get("configMap") or {}).get("name")
            if cm and ("ConfigMap", cm) not in defined:
                fail(here, f"volume '{v.get('name')}' uses ConfigMap '{cm}', defined nowhere in deploy/")
        job = doc.get("spec") or {}
        if kind == "Job":
            if doc.get("apiVersion") != "batch/v1":
                fail(here, f"apiVersion is {doc.get('apiVersion')!r}, not 'batch/v1'")
            if spec.get("restartPolicy") not in ("Never", "OnFailure"):
                fail(here, "a Job's pods need restartPolicy Never or OnFailure")
        sharded = False
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    fail(here, f"container '{c.get('name')}' mounts '{m.get('name')}', not a volume of the pod")
            env, index_vars = literal_env(c)
            for raw in container_commands(here, c):
                args = [resolve_k8s(a, env) for a in raw]
                path = check_command(here, args)
                shard = value_after(args, "--shard")
                if path and path[0] == "merge":
                    out = value_after(args[1:], "--out")
                    inputs, skip = [], False
                    for a in args[1:]:
                        if skip:
                            skip = False
                        elif a == "--out":
                            skip = True
                        elif not a.startswith("-"):
                            inputs.append(a)
                    merges.append((here, inputs, out or ""))
                if shard is None:
                    continue
                sharded = True
                if kind != "Job":
                    fail(here, "--shard outside a Job")
                    continue
                if job.get("completionMode") != "Indexed":
                    fail(here, "runs --shard but completionMode is not Indexed")
                completions, parallelism = job.get("completions"), job.get("parallelism")
                if not isinstance(completions, int) or completions < 1:
                    fail(here, "an Indexed Job needs completions = N (a positive integer)")
                    continue
                if parallelism != completions:
                    fail(here, f"completions ({completions}) != parallelism ({parallelism})")
                index, _, count = shard.partition("/")
                uses_index = any(f"$({v})" == index or f"${v}" == index or f"${{{v}}}" == index
                                 for v in index_vars)
                if not uses_index:
                    fail(here, f"--shard {shard}: the index is not $(JOB_COMPLETION_INDEX)")
                if count != str(completions):
                    fail(here, f"--shard {shard}: N is '{count}', completions is {completions}")
                out = value_after(args, "--out") or value_after(args, "--out-dir") or ""
                token = next((t for t in (f"$({v})" for v in index_vars) if t in out), None)
                if token is None:
                    fail(here, f"--out '{out}' is not per shard (no $(JOB_COMPLETION_INDEX) in it)")
                else:
                    shard_jobs.append((here, completions, out.replace(token, "{i}")))
        if kind == "Job" and job.get("completionMode") == "Indexed" and not sharded:
            fail(here, "an Indexed Job that runs no georank --shard command")
    for where, inputs, out in merges:
        if out in inputs:
            fail(where, f"georank merge --out {out} is also one of its inputs")
        expected = [[pattern.format(i=i) for i in range(n)] for _, n, pattern in shard_jobs]
        if shard_jobs and sorted(inputs) not in [sorted(e) for e in expected]:
            fail(where, f"georank merge lists {inputs}, not the shards' outputs {expected[0]}")


def check_compose(where: str, doc: dict) -> None:
    services = doc.get("services") or {}
    ports: dict[str, str] = {}
    gpus: dict[str, str] = {}
    models = set()
    for name, s in services.items():
        for p in s.get("ports") or []:
            host = str(p).rsplit(":", 1)[0]
            if host in ports:
                fail(where, f"services {ports[host]} and {name} publish the same port {host}")
            ports[host] = name
        devices = (((s.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
        for d in devices:
            for g in d.get("device_ids") or []:
                if str(g) in gpus:
                    fail(where, f"services {gpus[str(g)]} and {name} reserve the same GPU {g}")
                gpus[str(g)] = name
        command = [str(w) for w in s.get("command") or []]
        entry = [str(w) for w in s.get("entrypoint") or []]
        if "serve" in entry + command[:2]:
            served = value_after(command, "--served-model-name")
            model = next((w for w in command if not w.startswith("-")), None)
            models.add((model, served))
        for args in container_commands(f"{where} ({name})", {"command": entry + command}):
            check_command(f"{where} ({name})", args)
    if len(models) > 1:
        fail(where, f"the replicas serve different models {sorted(models)}: one judge identity needs one")


def check_yaml_file(path: Path, k8s_docs: list[tuple[str, dict]]) -> None:
    where = rel(path)
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        fail(where, f"YAML does not parse: {e}".replace("\n", " "))
        return
    if not docs:
        fail(where, "no YAML document")
    for d in docs:
        if not isinstance(d, dict):
            fail(where, "a YAML document that is not a mapping")
        elif "apiVersion" in d and "kind" in d:
            k8s_docs.append((where, d))
        elif "services" in d:
            check_compose(where, d)
        else:
            fail(where, "neither a Kubernetes object (apiVersion, kind) nor a Compose file (services)")


# --- docs/scale-out.md -----------------------------------------------------------------------


def check_doc(deploy_files: list[Path]) -> None:
    where = rel(DOC)
    if not DOC.is_file():
        fail(where, "missing")
        return
    text = DOC.read_text()
    for section in REQUIRED_DOC_SECTIONS:
        if not re.search(rf"^{re.escape(section)}\s*$", text, re.M):
            fail(where, f"no section '{section}'")
    for p in deploy_files:
        if rel(p) not in text:
            fail(where, f"does not mention {rel(p)}")
    for m in re.finditer(r"(?<![\w/.])deploy/[\w./-]*\w", text):
        if not (ROOT / m.group(0)).exists():
            fail(where, f"names {m.group(0)}, which does not exist")
    for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.M | re.S):
        lang, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        block = f"{where}:{line}"
        if lang in ("sh", "bash", "shell", ""):
            if lang in ("sh", "bash"):
                bash_n(block, body)
            for args in shell_commands(body):
                check_command(block, args)
        elif lang == "toml" and "[dataset]" in body:
            check_run_config(block, body)
        elif lang == "yaml":
            try:
                list(yaml.safe_load_all(body))
            except yaml.YAMLError as e:
                fail(block, f"YAML does not parse: {e}".replace("\n", " "))


def main() -> int:
    if not Path(georank_bin()).is_file():
        print(f"check_deploy: FAIL GEORANK_BIN: {georank_bin()} does not exist (build georank first)",
              file=sys.stderr)
        return 1
    if not DEPLOY.is_dir():
        print("check_deploy: FAIL deploy/: missing", file=sys.stderr)
        return 1
    files = sorted(p for p in DEPLOY.rglob("*") if p.is_file())
    commands: dict[Path, list[list[str]]] = {}
    k8s_docs: list[tuple[str, dict]] = []
    for p in files:
        if p.suffix in (".sh", ".sbatch"):
            commands[p] = check_shell_file(p)
        elif p.suffix in (".yaml", ".yml"):
            check_yaml_file(p, k8s_docs)
    check_kubernetes(k8s_docs)
    check_slurm(commands)
    check_doc(files)

    for f in dict.fromkeys(failures):  # each distinct failure once, in order
        print(f"check_deploy: FAIL {f}", file=sys.stderr)
    for p in sorted(pending):
        print(f"check_deploy: pending (GEORANK_ALLOW_PENDING=1, not in --help yet): {p}")
    if failures:
        print(f"check_deploy: {len(dict.fromkeys(failures))} failure(s)", file=sys.stderr)
        return 1
    print(f"check_deploy: OK ({len(files)} files in deploy/, {commands_checked} georank commands, "
          f"docs/scale-out.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
