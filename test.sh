#!/usr/bin/env bash
# The whole quality gate from a fresh clone: bootstrap, typecheck and lint every package (turbo, cached),
# then every test in one vitest run that ends with `tests: N passed, N failed, N skipped`.
# Extra arguments go to vitest, e.g. `./test.sh --project core`.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/scripts/bootstrap.sh"
cd "$REALM_ROOT"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1
bin="$REALM_ROOT/node_modules/.bin"
echo "== typecheck + lint (every package)"
"$bin/turbo" run check lint --output-logs=errors-only --log-order=grouped
"$bin/tsc" --noEmit -p tsconfig.json
echo "== tests"
"$bin/vitest" run "$@"
