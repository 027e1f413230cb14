#!/usr/bin/env bash
# REPLICAS llama-server processes of one GGUF vision-language model (text model + --mmproj),
# one per GPU, on ports BASE_PORT, BASE_PORT+1, ...: the llama.cpp variant of the vLLM fleet
# (llama-server is the server georank's tests cross-check the in-process judge against).
# Stays in the foreground; Ctrl-C or the end of any replica stops them all. Then, elsewhere:
#
#   SERVERS="http://127.0.0.1:8101 http://127.0.0.1:8102" SERVER_MODEL=qwen2.5-vl-7b \
#     deploy/vllm/rerank-fleet.sh
#
# Every replica runs the same llama-server build with the same files: georank keys its
# judgment cache by the identity the first URL reports (build, chat template, model).
set -euo pipefail

LLAMA_SERVER=${LLAMA_SERVER:-llama-server}
MODEL=${MODEL:-models/Qwen2.5-VL-7B-Instruct-Q8_0.gguf}        # ggml-org/Qwen2.5-VL-7B-Instruct-GGUF
MMPROJ=${MMPROJ:-models/mmproj-Qwen2.5-VL-7B-Instruct-f16.gguf}
ALIAS=${ALIAS:-qwen2.5-vl-7b}           # the model id georank sends (--server-model)
REPLICAS=${REPLICAS:-2}
HOST=${HOST:-127.0.0.1}
BASE_PORT=${BASE_PORT:-8101}
PARALLEL=${PARALLEL:-8}                 # slots per replica: georank's --max-in-flight
CTX_PER_SLOT=${CTX_PER_SLOT:-8192}      # tokens per slot (the context is split among slots)
GPU_VAR=${GPU_VAR:-CUDA_VISIBLE_DEVICES}  # Vulkan builds: GGML_VK_VISIBLE_DEVICES
LOG_DIR=${LOG_DIR:-logs/llama-server}

mkdir -p "$LOG_DIR"
pids=()
stop() {
  trap - EXIT INT TERM
  if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; fi
  wait || true
}
trap stop EXIT INT TERM

servers=()
for ((i = 0; i < REPLICAS; i++)); do
  port=$((BASE_PORT + i))
  env "$GPU_VAR=$i" "$LLAMA_SERVER" \
    --model "$MODEL" --mmproj "$MMPROJ" --alias "$ALIAS" \
    --host "$HOST" --port "$port" \
    --parallel "$PARALLEL" --ctx-size "$((PARALLEL * CTX_PER_SLOT))" \
    --gpu-layers 999 --no-webui \
    >"$LOG_DIR/replica-$i.log" 2>&1 &
  pids+=("$!")
  servers+=("http://$HOST:$port")
  echo "llama-server-fleet: replica $i on GPU $i, port $port (log $LOG_DIR/replica-$i.log)"
done

for url in "${servers[@]}"; do
  until curl -fsS -o /dev/null --max-time 5 "$url/health"; do
    for pid in "${pids[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "llama-server-fleet: a replica exited while loading; see $LOG_DIR/" >&2
        exit 5
      fi
    done
    sleep 5
  done
done
echo "llama-server-fleet: all up. SERVERS=\"${servers[*]}\""
# Serve until one replica ends (or Ctrl-C); then stop the others.
wait -n "${pids[@]}"
echo "llama-server-fleet: a replica exited; stopping the fleet" >&2
exit 5
