#!/usr/bin/env bash
# Fetch a Node.js binary from the npm registry (the `node-<os>-<arch>` packages) into DIR/bin/node, using nothing
# but npm. Used by bootstrap.sh (Node 24 when the machine's Node is too old) and by the packaging test (Node 22.18).
# Usage: scripts/fetch-node.sh VERSION DIR     Idempotent: does nothing when DIR/bin/node is already VERSION.
set -euo pipefail
version="$1"
dir="$2"
if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" -p 'process.versions.node' 2>/dev/null)" = "$version" ]; then exit 0; fi
case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "fetch-node: unsupported OS $(uname -s)" >&2; exit 1 ;; esac
case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "fetch-node: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-${os}-${arch}@${version}" >/dev/null) \
  || { echo "fetch-node: could not fetch node-${os}-${arch}@${version} from the npm registry" >&2; exit 1; }
tar -xzf "$tmp"/node-*.tgz -C "$tmp" package/bin/node package/LICENSE
mkdir -p "$dir/bin"
mv "$tmp/package/bin/node" "$dir/bin/node.partial"
mv "$tmp/package/LICENSE" "$dir/LICENSE"
mv "$dir/bin/node.partial" "$dir/bin/node"   # atomic: never a half-written node
