#!/usr/bin/env bash
# GPU check of the in-process judge, for a machine with a GPU (Debian 12, root for set-up):
# adds ggml's Vulkan backend to the runtime prefix, builds the CLI and the pairwise benchmark,
# checks that ggml sees a GPU, writes the LLaVA-1.5-7B-shaped q4_k fixture (random weights:
# speed only) and prints queries/s with every layer and the projector on the GPU.
#
#   bench/gpu_check.sh [QUERIES] [K]      # defaults 2 and 5; aims at < 8 minutes in all
#
# Exit status: 0 measured; 3 no GPU device (georank doctor's listing is printed); other: a
# failing step. Nothing else in the project depends on this script.
set -euo pipefail
cd "$(dirname "$0")/.."
queries=${1:-2}
k=${2:-5}
build=${GEORANK_GPU_BUILD:-build-gpu}
start=$SECONDS
say() { printf 'gpu_check [%3ds]: %s\n' $((SECONDS - start)) "$*" >&2; }

say "set-up with the Vulkan backend"
GEORANK_GPU=vulkan scripts/setup
say "build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target georank_cli bench_pairwise_throughput -j "$(nproc)" >/dev/null
"$build/bin/georank" doctor || true
if ! "$build/bin/georank" doctor --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["ggml"]["gpu"] else 1)'; then
  say "ggml found no GPU device: nothing to measure"
  exit 3
fi
say "pairwise benchmark: llava7b shape (4096 wide, 32 layers, 576 image tokens), q4_k, --gpu-layers -1"
out="$build/gpu_check.json"
"$build/bench/bench_pairwise_throughput" --shape llava7b --types q4_k --queries "$queries" --k "$k" \
  --modes c --gpu-layers -1 --json >"$out"
python3 - "$out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for r in j["rows"]:
    print(f'{r["name"]} ({r["type"]}): {j["queries"] / r["seconds"]:.3f} queries/s, '
          f'{r["comparisons_per_s"]:.2f} comparisons/s, {r["decoded_tokens_per_query"]:.0f} tokens/query, '
          f'K={j["k"]}')
print(j["note"])
PY
say "done ($out)"
