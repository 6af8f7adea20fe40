#!/usr/bin/env bash
# Runs both suites at once (their simulated guests live on different networks, see
# tests/shell/helpers/sim.bash), even when one fails, so one failure never hides the other's
# results; bats' report follows vitest's. Fails if either failed. (npm 11 does not link the bats
# bin, hence the path.)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
vitest=0 bats=0
bats_log=$(mktemp)
node_modules/bats/bin/bats tests/shell >"$bats_log" 2>&1 &
bats_pid=$!
trap 'kill "$bats_pid" 2>/dev/null; rm -f "$bats_log"' EXIT
npx vitest run --config tests/vitest.config.ts || vitest=$?
wait "$bats_pid" || bats=$?
cat "$bats_log"
((vitest == 0 && bats == 0)) || { echo "tests failed: vitest exit $vitest, bats exit $bats" >&2; exit 1; }
