#!/usr/bin/env bash
# Runs both suites even when the first fails, so one failure never hides the other's results;
# fails if either failed. (npm 11 does not link the bats bin, hence the path.)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
vitest=0 bats=0
npx vitest run --config tests/vitest.config.ts || vitest=$?
node_modules/bats/bin/bats tests/shell || bats=$?
((vitest == 0 && bats == 0)) || { echo "tests failed: vitest exit $vitest, bats exit $bats" >&2; exit 1; }
