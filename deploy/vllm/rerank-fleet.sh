#!/usr/bin/env bash
# georank rerank against a fleet of OpenAI-compatible servers: the vLLM replicas of
# deploy/vllm/docker-compose.yaml (ports 8001-8004), the llama-server replicas of
# deploy/vllm/llama-server-fleet.sh (SERVERS="http://127.0.0.1:8101 ..."), or SGLang.
# Requests go to every URL, at most MAX_IN_FLIGHT at once per server; a timeout, connection
# error, 429 or 5xx is retried RETRIES times with backoff. Recipe: docs/scale-out.md.
#
#   CANDIDATES=out/run/candidates.jsonl OUT=out/fleet deploy/vllm/rerank-fleet.sh
#   SHARD=2/8 ... deploy/vllm/rerank-fleet.sh   # one of 8 shards (merge them: docs/scale-out.md)
set -euo pipefail

GEORANK=${GEORANK:-georank}
DATASET=${DATASET:-vigor:/data/VIGOR}
CANDIDATES=${CANDIDATES:-out/run/candidates.jsonl}
OUT=${OUT:-out/fleet}
SERVERS=${SERVERS:-http://127.0.0.1:8001 http://127.0.0.1:8002 http://127.0.0.1:8003 http://127.0.0.1:8004}
SERVER_MODEL=${SERVER_MODEL:-qwen2.5-vl-7b}   # vLLM's --served-model-name, llama-server's --alias
MAX_IN_FLIGHT=${MAX_IN_FLIGHT:-16}            # per server: about the batch it serves well
TIMEOUT_S=${TIMEOUT_S:-120}
RETRIES=${RETRIES:-4}
SHARD=${SHARD:-}                              # optional I/N
WAIT_S=${WAIT_S:-1800}                        # how long to wait for the servers to load

# Wait until every server answers /health (vLLM and llama-server both have it).
deadline=$((SECONDS + WAIT_S))
for url in $SERVERS; do
  base=${url%/}
  base=${base%/v1}
  until curl -fsS -o /dev/null --max-time 5 "$base/health"; do
    if ((SECONDS >= deadline)); then
      echo "rerank-fleet: $base/health did not answer within ${WAIT_S}s" >&2
      exit 5
    fi
    sleep 10
  done
  echo "rerank-fleet: $base is up"
done

# A shard writes the same file names in its own folder OUT/shards/I/ (georank merge moves the
# paths inside a shard's folder to the merged output's).
dir=$OUT${SHARD:+/shards/${SHARD%%/*}}
mkdir -p "$dir"
georank_args=(--dataset "$DATASET" --candidates "$CANDIDATES"
              --strategy pairwise --aggregate all-pairs-bt --orders both --k 10
              --server-model "$SERVER_MODEL" --max-in-flight "$MAX_IN_FLIGHT"
              --timeout "$TIMEOUT_S" --retries "$RETRIES"
              --cache "$dir/judgments.sqlite" --out "$dir/reranked.jsonl")
for url in $SERVERS; do georank_args+=(--server "$url"); done
if [[ -n "$SHARD" ]]; then georank_args+=(--shard "$SHARD"); fi

"$GEORANK" rerank "${georank_args[@]}"
