#!/usr/bin/env bash
# Companion of scripts/gpu-check.sh, run on the build machine (network: the npm registry and Debian packages only).
# Puts into .device/ (git-ignored) everything the GPU machine needs, since that machine has no network and may
# have no Node:
#   node.xz             this checkout's Node binary (>= 22.18, Linux x64), xz-compressed
#   realm-gpu.tar.xz    js/: the check's scripts bundled with esbuild (device-check, placement, train) plus
#                       torch_step.py, and js/node_modules/ with onnxruntime-node's package (JS, Linux x64 native
#                       library, the CUDA provider too when installed) and onnxruntime-common
#   debs/               the Vulkan loader (libvulkan1, amd64) from Debian, unpacked by gpu-check.sh into its scratch
#                       dir only when the machine has no libvulkan.so.1 (NVIDIA's ICD comes with the driver)
# Prints each file's size and the total, and fails when the total reaches 48 MiB (the device tool carries 64 MiB
# with the working tree). Idempotent: the Node archive and the .debs are reused when present.
# Usage: scripts/gpu-prepare.sh        then carry `.device` and run scripts/gpu-check.sh there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=/dev/null
. scripts/bootstrap.sh
DEV="$ROOT/.device"
mkdir -p "$DEV/debs"
[ "$(uname -m)" = x86_64 ] || { echo "gpu-prepare: the GPU machine is x86-64; run this on an x86-64 Linux machine" >&2; exit 1; }

# 1. Node
node_bin="$(command -v node)"
version="$(node --version)"
if [ ! -f "$DEV/node.xz" ] || [ "$(cat "$DEV/node.version" 2>/dev/null)" != "$version" ]; then
  echo "gpu-prepare: compressing Node $version ($node_bin)"
  xz -T2 -6 -c "$node_bin" >"$DEV/node.xz.partial" && mv "$DEV/node.xz.partial" "$DEV/node.xz"
  echo "$version" >"$DEV/node.version"
fi

# 2. Scripts and onnxruntime-node
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/js/node_modules"
for entry in device-check placement train; do
  node_modules/.bin/esbuild "packages/graph/bench/$entry.ts" --bundle --platform=node --format=esm --target=node22 \
    --conditions=@realm-lm/source --external:onnxruntime-node --log-level=warning \
    --banner:js='import { createRequire as __realmCreateRequire } from "node:module"; const require = __realmCreateRequire(import.meta.url);' \
    --outfile="$stage/js/$entry.mjs"
done
cp packages/graph/bench/torch_step.py "$stage/js/"
ort=node_modules/onnxruntime-node
mkdir -p "$stage/js/$ort/bin/napi-v6/linux"
cp -r "$ort/package.json" "$ort/dist" "$stage/js/$ort/"
cp -r "$ort/bin/napi-v6/linux/x64" "$stage/js/$ort/bin/napi-v6/linux/"
cp -r node_modules/onnxruntime-common "$stage/js/node_modules/"
find "$stage/js/node_modules" -name '*.map' -delete
tar -C "$stage" -cf - js | xz -T2 -6 >"$DEV/realm-gpu.tar.xz"

# 3. Vulkan loader from Debian (amd64), with a private package list so the system's apt state is untouched.
if ! compgen -G "$DEV/debs/libvulkan1_*.deb" >/dev/null; then
  lists="$(mktemp -d)"
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" -qq update
  (cd "$DEV/debs" && apt-get "${o[@]}" -qq download libvulkan1)
  rm -rf "$lists"
fi

du -b "$DEV/node.xz" "$DEV/realm-gpu.tar.xz" "$DEV"/debs/*.deb | awk '{ printf "%8.1f MiB  %s\n", $1 / 1048576, $2 }'
total=$(du -cb "$DEV/node.xz" "$DEV/realm-gpu.tar.xz" "$DEV"/debs/*.deb | tail -1 | cut -f1)
printf 'gpu-prepare: .device/ total %.1f MiB (the device tool carries 64 MiB, working tree included)\n' "$(echo "$total / 1048576" | bc -l)"
[ "$total" -lt $((48 * 1048576)) ] || { echo "gpu-prepare: .device/ is too large to carry" >&2; exit 1; }
