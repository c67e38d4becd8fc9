#!/usr/bin/env bash
# One-shot GPU check for a Linux x64 machine with an NVIDIA GPU, Vulkan and no network, in under 8 minutes:
#   1. gradients on the WebGPU execution provider (float32) against float64 on the CPU, and three AdamW steps
#      against the CPU's (packages/graph/bench/device-check.ts); the same on CUDA when onnxruntime-node's CUDA
#      provider library is present;
#   2. op placement: the ops ONNX Runtime put on the CPU in the training step and forward graphs (bench/placement.ts);
#   3. the training-step bench on the GPU (bench/train.ts --device webgpu, and cuda when present);
#   4. the same step in PyTorch on the same GPU when python3 has torch with CUDA (bench/torch_step.py).
# It prints one table and writes gpu-check.json / gpu-check.txt / gpu-check.log to --out DIR, else $OUT when set,
# else .device/results/.
#
# Runtime: with .device/ prepared by scripts/gpu-prepare.sh on the build machine (Node binary, bundled scripts,
# onnxruntime-node's Linux library, Vulkan loader .debs) it needs nothing else; without .device/ it uses this
# checkout's Node (>= 22.18) and node_modules.
#
# Without an NVIDIA GPU (nvidia-smi missing or failing) it says "no NVIDIA GPU found" and does a dry run: the same
# steps on the CPU with tiny shapes, so the script itself is exercised. --dry-run forces that mode.
#
# Usage: scripts/gpu-check.sh [--dry-run] [--require-gpu] [--out DIR]
# Exit codes: 0 every step passed or was skipped (a GPU run or a dry run: the JSON's "mode" says which),
#             1 a step failed or timed out, 2 no usable Node runtime, 3 --require-gpu and no GPU found.
# Environment: NVIDIA_SMI (default nvidia-smi), REALM_PYTHON (default python3), REALM_GPU_CHECK_BUDGET_S
#              (default 470: the whole check's time limit), REALM_GPU_WORK (scratch dir, default a fresh /tmp dir).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
dry=0
require=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --require-gpu) require=1 ;;
    --out) out="$2"; shift ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
OUTDIR="${out:-${OUT:-$ROOT/.device/results}}"
START=$(date +%s)
BUDGET="${REALM_GPU_CHECK_BUDGET_S:-470}"
WORK="${REALM_GPU_WORK:-$(mktemp -d /tmp/realm-gpu-check.XXXXXX)}"
mkdir -p "$WORK" "$OUTDIR"
: >"$WORK/steps.tsv"
log() { printf '[gpu-check %3ds] %s\n' "$(($(date +%s) - START))" "$*"; }

# --- GPU detection ------------------------------------------------------------------------------------------------
SMI="${NVIDIA_SMI:-nvidia-smi}"
GPU=""
if gpu_line="$("$SMI" --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null)" && [ -n "$gpu_line" ]; then
  GPU="$(printf '%s' "$gpu_line" | head -n1)"
fi
MESSAGE=""
if [ -z "$GPU" ]; then
  MESSAGE="no NVIDIA GPU found ($SMI missing or failing): dry run on the CPU with tiny shapes; GPU results unmeasured"
  echo "gpu-check: $MESSAGE"
  if [ "$require" = 1 ]; then exit 3; fi
  dry=1
elif [ "$dry" = 1 ]; then
  MESSAGE="--dry-run: on the CPU with tiny shapes although a GPU is present ($GPU)"
  echo "gpu-check: $MESSAGE"
else
  log "GPU: $GPU"
fi

# --- Node runtime: carried (.device/) or this checkout's -------------------------------------------------------
if [ -f "$ROOT/.device/node.xz" ] && [ -f "$ROOT/.device/realm-gpu.tar.xz" ]; then
  xz -dc "$ROOT/.device/node.xz" >"$WORK/node" && chmod +x "$WORK/node" && tar -xJf "$ROOT/.device/realm-gpu.tar.xz" -C "$WORK" || {
    echo "gpu-check: could not unpack .device/ (rerun scripts/gpu-prepare.sh on the build machine)" >&2
    exit 2
  }
  NODE=("$WORK/node")
  JS="$WORK/js"
  ext=mjs
  ORT_LIB="$JS/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  RUNTIME="packed (.device/, $("$WORK/node" --version))"
else
  node_bin="$ROOT/.tools/node/bin/node"
  [ -x "$node_bin" ] || node_bin="$(command -v node || true)"
  if [ -z "$node_bin" ] || ! "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null \
    || [ ! -d "$ROOT/node_modules/onnxruntime-node" ]; then
    echo "gpu-check: no Node >= 22.18 with node_modules here and no .device/ pack: run scripts/gpu-prepare.sh on the build machine and carry .device/" >&2
    exit 2
  fi
  NODE=("$node_bin" --conditions=@realm-lm/source)
  JS="$ROOT/packages/graph/bench"
  ext=ts
  ORT_LIB="$ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  RUNTIME="source (checkout, $("$node_bin" --version))"
fi

# --- Vulkan loader and NVIDIA ICD (WebGPU runs on Dawn over Vulkan) -------------------------------------------------
VULKAN="not needed (dry run)"
if [ "$dry" = 0 ]; then
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    VULKAN="system loader"
  elif compgen -G "$ROOT/.device/debs/*.deb" >/dev/null; then
    for f in "$ROOT"/.device/debs/*.deb; do dpkg -x "$f" "$WORK/vulkan"; done
    export LD_LIBRARY_PATH="$WORK/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    VULKAN="carried loader ($(cd "$ROOT/.device/debs" && ls ./*.deb | xargs -n1 basename | tr '\n' ' '))"
  else
    VULKAN="no loader (libvulkan.so.1 missing and no .device/debs)"
  fi
  if ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then
        export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
        break
      fi
    done
  fi
  VULKAN="$VULKAN; ICD ${VK_DRIVER_FILES:-from the loader default paths}"
  log "vulkan: $VULKAN"
fi

# --- Steps ------------------------------------------------------------------------------------------------------------
# step NAME LIMIT_S RESULT_JSON CMD...: runs CMD under a time limit cut to what is left of the budget.
step() {
  local name="$1" limit="$2" json="$3"
  shift 3
  local left=$((START + BUDGET - $(date +%s) - 10))
  [ "$left" -lt "$limit" ] && limit="$left"
  if [ "$limit" -lt 15 ]; then
    printf '%s\tskipped\t\t0\t0\tout of time (budget %ss)\t\n' "$name" "$BUDGET" >>"$WORK/steps.tsv"
    log "$name: skipped (out of time)"
    return
  fi
  log "$name: running (limit ${limit}s)"
  local t0 rc status
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  case "$rc" in 0) status=pass ;; 124 | 137) status=timeout ;; *) status=fail ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t\t%s\n' "$name" "$status" "$rc" "$(($(date +%s) - t0))" "$limit" "$([ -f "$json" ] && echo "$json")" >>"$WORK/steps.tsv"
  log "$name: $status (rc $rc)"
}
skip() { printf '%s\tskipped\t\t0\t0\t%s\t\n' "$1" "$2" >>"$WORK/steps.tsv"; log "$1: skipped ($2)"; }

PY="${REALM_PYTHON:-python3}"
# sh -c "$to_file" _ FILE CMD...: CMD's stdout to FILE (torch_step.py prints its JSON).
to_file='out="$1"; shift; exec "$@" >"$out"'
if [ "$dry" = 1 ]; then
  step grads-cpu 120 "$WORK/grads-cpu.json" "${NODE[@]}" "$JS/device-check.$ext" --device cpu --out "$WORK/grads-cpu.json"
  step placement-cpu 60 "$WORK/placement-cpu.json" "${NODE[@]}" "$JS/placement.$ext" --device cpu --tiny --out "$WORK/placement-cpu.json"
  step bench-cpu 60 "$WORK/bench-cpu.json" "${NODE[@]}" "$JS/train.$ext" --device cpu --tiny --out "$WORK/bench-cpu.json"
  if "$PY" -c "import torch" >/dev/null 2>&1; then
    step torch-cpu 60 "$WORK/torch-cpu.json" sh -c "$to_file" _ "$WORK/torch-cpu.json" "$PY" "$JS/torch_step.py" "$("${NODE[@]}" "$JS/train.$ext" --tiny --torch-args)"
  else
    skip torch-cpu "$PY has no torch"
  fi
else
  cuda=0
  [ -f "$ORT_LIB/libonnxruntime_providers_cuda.so" ] && cuda=1
  nocuda="onnxruntime-node's CUDA provider is not installed (its postinstall fetches it from NuGet: ONNXRUNTIME_NODE_INSTALL=cuda12 on a networked machine)"
  step grads-webgpu 120 "$WORK/grads-webgpu.json" "${NODE[@]}" "$JS/device-check.$ext" --device webgpu --out "$WORK/grads-webgpu.json"
  step placement-webgpu 60 "$WORK/placement-webgpu.json" "${NODE[@]}" "$JS/placement.$ext" --device webgpu --out "$WORK/placement-webgpu.json"
  step bench-webgpu 120 "$WORK/bench-webgpu.json" "${NODE[@]}" "$JS/train.$ext" --device webgpu --out "$WORK/bench-webgpu.json"
  if "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
    step torch-cuda 90 "$WORK/torch-cuda.json" sh -c "$to_file" _ "$WORK/torch-cuda.json" "$PY" "$JS/torch_step.py" "$("${NODE[@]}" "$JS/train.$ext" --device webgpu --torch-args)"
  else
    skip torch-cuda "$PY has no torch with CUDA"
  fi
  if [ "$cuda" = 1 ]; then
    step grads-cuda 60 "$WORK/grads-cuda.json" "${NODE[@]}" "$JS/device-check.$ext" --device cuda --out "$WORK/grads-cuda.json"
    step placement-cuda 45 "$WORK/placement-cuda.json" "${NODE[@]}" "$JS/placement.$ext" --device cuda --out "$WORK/placement-cuda.json"
    step bench-cuda 60 "$WORK/bench-cuda.json" "${NODE[@]}" "$JS/train.$ext" --device cuda --out "$WORK/bench-cuda.json"
  else
    skip grads-cuda "$nocuda"
  fi
fi

# --- Report ---------------------------------------------------------------------------------------------------------
GPU_CHECK_MODE="$([ "$dry" = 1 ] && echo dry-run || echo gpu)" GPU_CHECK_MESSAGE="$MESSAGE" GPU_CHECK_GPU="$GPU" \
  GPU_CHECK_VULKAN="$VULKAN" GPU_CHECK_RUNTIME="$RUNTIME" GPU_CHECK_STARTED="$START" \
  "${NODE[0]}" "$ROOT/scripts/gpu-report.ts" "$WORK" "$OUTDIR" || exit 1
[ -n "${REALM_GPU_WORK:-}" ] || rm -rf "$WORK"
if grep -q '"status": "\(fail\|timeout\)"' "$OUTDIR/gpu-check.json"; then exit 1; fi
exit 0
