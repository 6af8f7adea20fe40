#!/usr/bin/env bash
# Runs both suites at once, each with several tests at a time (every simulated host leases a
# loopback block of its own, src/sim/address-block.ts, so their guests never meet on an address),
# even when one fails, so one failure never hides the other's results; bats' report follows
# vitest's, and vitest's failures are repeated last, where a log's tail shows them. Fails if
# either failed. bats runs tests in parallel through GNU parallel (.ci/run
# installs it); without it, one at a time, and says so. (npm 11 does not link the bats bin, hence
# the path.)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
vitest=0 bats=0
bats_log=$(mktemp)
vitest_log=$(mktemp)
bats_jobs=()
if command -v parallel >/dev/null 2>&1; then
  bats_jobs=(--jobs "${LINUS_BATS_JOBS:-3}")
else
  echo "run-all: GNU parallel is not installed (apt-get install parallel): bats runs one test at a time" >&2
fi
node_modules/bats/bin/bats "${bats_jobs[@]}" tests/shell >"$bats_log" 2>&1 &
bats_pid=$!
trap 'kill "$bats_pid" 2>/dev/null; rm -f "$bats_log" "$vitest_log"' EXIT
npx vitest run --config tests/vitest.config.ts 2>&1 | tee "$vitest_log" || vitest=$?
wait "$bats_pid" || bats=$?
cat "$bats_log"
if ((vitest != 0)); then
  echo "vitest's failures, again:"
  summary=$(sed -n '/Failed Tests\|Unhandled Error/,$p' "$vitest_log")
  if [[ -n "$summary" ]]; then head -n 150 <<<"$summary"; else tail -n 60 "$vitest_log"; fi
fi
((vitest == 0 && bats == 0)) || { echo "tests failed: vitest exit $vitest, bats exit $bats" >&2; exit 1; }
