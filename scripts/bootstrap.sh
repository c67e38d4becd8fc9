#!/usr/bin/env bash
# Bootstrap for realm-lm: makes sure Node >= 22.18 and the workspace's npm dependencies are present,
# using nothing but the npm registry. Source it (`. scripts/bootstrap.sh`) from a launcher; it puts
# the chosen `node` first on PATH. Idempotent: when already done it costs a few milliseconds.
#
# Settings (environment):
#   REALM_NODE_VERSION        Node version fetched when the machine's is too old (default below)
#   ONNXRUNTIME_NODE_INSTALL  `cuda12` fetches onnxruntime-node's CUDA 12 provider (needs NuGet access);
#                             default `skip` (CPU and WebGPU are bundled in the npm package)
#   REALM_QUIET=1             print nothing on the fast path (default already quiet)

set -euo pipefail

REALM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REALM_NODE_VERSION="${REALM_NODE_VERSION:-24.21.0}"
REALM_TOOLS="$REALM_ROOT/.tools"
MIN_NODE_MAJOR=22
MIN_NODE_MINOR=18

realm_log() { printf '[realm bootstrap] %s\n' "$*" >&2; }

# True when the given node binary is >= 22.18.
realm_node_ok() {
  local v
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  [ "$major" -gt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -ge "$MIN_NODE_MINOR" ]; }
}

realm_ensure_node() {
  local local_node="$REALM_TOOLS/node/bin/node"
  if [ -x "$local_node" ] && realm_node_ok "$local_node"; then
    export PATH="$REALM_TOOLS/node/bin:$PATH"
    return
  fi
  if command -v node >/dev/null 2>&1 && realm_node_ok "$(command -v node)"; then
    return
  fi
  command -v npm >/dev/null 2>&1 || { realm_log "npm not found: install Node.js and npm (any version) first"; exit 1; }
  realm_log "Node $(node --version 2>/dev/null || echo none) is older than ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR}: fetching Node ${REALM_NODE_VERSION} from the npm registry into .tools/node"
  "$REALM_ROOT/scripts/fetch-node.sh" "$REALM_NODE_VERSION" "$REALM_TOOLS/node" || exit 1
  export PATH="$REALM_TOOLS/node/bin:$PATH"
  realm_log "using $(node --version) from .tools/node"
}

# The install is keyed on the lockfile, the Node major and the requested ORT flavour; a match skips it.
realm_install_key() {
  local lock_hash
  lock_hash="$(sha256sum "$REALM_ROOT/package-lock.json" | cut -c1-16)"
  printf '%s node%s ort-%s\n' "$lock_hash" "$(node -p 'process.versions.node.split(".")[0]')" "${ONNXRUNTIME_NODE_INSTALL:-skip}"
}

realm_cuda_provider_present() {
  [ -e "$REALM_ROOT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" ]
}

realm_ensure_deps() {
  local stamp="$REALM_ROOT/node_modules/.realm-install-stamp" key
  key="$(realm_install_key)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    return
  fi
  # A fresh clone gets `npm ci`: exactly the locked versions, and package-lock.json is never rewritten (the tree stays
  # clean). The lockfile holds every platform's optional binaries (turbo, oxlint, typescript, rolldown...), so it is
  # valid on any OS and npm fetches only this platform's. An existing node_modules whose lockfile changed (a pull)
  # gets `npm install` instead: npm ci would delete node_modules under any realm process still running from it.
  (
    cd "$REALM_ROOT"
    export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
    if [ ! -d node_modules ]; then
      realm_log "installing npm dependencies with npm ci from package-lock.json (npm registry only)"
      npm ci --no-audit --no-fund --loglevel=error
    else
      realm_log "package-lock.json changed since the last install: npm install (npm registry only)"
      local before
      before="$(sha256sum package-lock.json)"
      npm install --no-audit --no-fund --loglevel=error
      if [ "$(sha256sum package-lock.json)" != "$before" ]; then
        realm_log "warning: npm install changed package-lock.json; commit it if you changed dependencies"
      fi
    fi
  )
  if [ "${ONNXRUNTIME_NODE_INSTALL:-skip}" = "cuda12" ] && ! realm_cuda_provider_present; then
    (cd "$REALM_ROOT/node_modules/onnxruntime-node" && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js) \
      || realm_log "CUDA provider download failed (NuGet unreachable?): CPU and WebGPU still work"
  fi
  if realm_cuda_provider_present; then
    realm_log "CUDA execution provider: installed"
  else
    realm_log "CUDA execution provider: not installed (npm registry only; CPU and WebGPU work). On a networked Linux x64 machine with CUDA 12 + cuDNN 9: ONNXRUNTIME_NODE_INSTALL=cuda12 ./realm --help"
  fi
  # Keyed after the install, on the lockfile as it is now, so the next run matches and installs nothing.
  realm_install_key > "$stamp"
}

realm_ensure_node
realm_ensure_deps
export REALM_ROOT
