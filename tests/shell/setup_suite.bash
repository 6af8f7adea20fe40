# Once per bats run (bats loads this file for the tests beside it): the simulator's layout server,
# so that a test's sim_setup costs a request instead of a Node process, and its host's tool calls
# need no tool server of their own (helpers/sim-factory.mjs).
# Without a built simulator it is not started, and require_sim skips or fails the tests that need it.

setup_suite() {
  local repo port_file i
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  [[ -f "$repo/dist/src/sim/host.js" ]] || return 0
  port_file="$BATS_RUN_TMPDIR/sim-factory.port"
  # Holds none of bats' descriptors (fd 3 open would make bats wait for it), and none of the tests'
  # environment: it serves tool calls as a host's own tool server does (client.ts starts those
  # with an empty one).
  env -i ${TMPDIR:+TMPDIR="$TMPDIR"} "$(command -v node)" "$repo/tests/shell/helpers/sim-factory.mjs" "$repo" \
    >"$port_file" 2>"$BATS_RUN_TMPDIR/sim-factory.log" </dev/null 3>&- &
  SIM_FACTORY_PID=$!
  for ((i = 0; i < 200; i++)); do
    [[ -s "$port_file" ]] && break
    kill -0 "$SIM_FACTORY_PID" 2>/dev/null || break
    sleep 0.05
  done
  read -r SIM_FACTORY_PORT <"$port_file" || {
    echo "the simulator's layout server did not start: $(<"$BATS_RUN_TMPDIR/sim-factory.log")" >&2
    return 1
  }
  export SIM_FACTORY_PORT SIM_FACTORY_PID
}

teardown_suite() {
  [[ -z "${SIM_FACTORY_PID:-}" ]] || kill -TERM "$SIM_FACTORY_PID" 2>/dev/null || true
}
