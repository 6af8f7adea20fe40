#!/usr/bin/env bats
# shell/ops/vm.sh, the entry of `linus vm`, `capacity` and `doctor` on the host: the command
# table, one final block per run whatever happens, status of one VM, and a signal during a
# command. The operations themselves: ops-<name>.bats, one per shell/lib/ops-<name>.sh.

load helpers/common
load helpers/sim

# Some tests here run the entry script directly: no simulator needed to start.
setup() {
  :
}

@test "an unknown command is INVALID_SPEC listing the commands; version names the vm scripts" {
  run bash "$ENTRY_OPS" 'frob;nicate'
  assert_failure 1
  assert_line --index 0 'LINUS_PROTOCOL:1'
  assert_line 'LINUS_ERROR:unknown command frob\;nicate (commands: list capacity place status config power set resize delete run wait cancel cleanup doctor doctor-fix fleet-state adopt version)'
  assert_equal "${lines[-1]}" LINUS_END
  run bash "$ENTRY_OPS" version
  assert_success
  assert_line 'LINUS_PROVISIONER:vm'
  assert_equal "$(grep -c '^LINUS_END$' <<<"$output")" 1
}

@test "status reports state, lock, template and ownership of one VM" {
  require_sim
  sim_setup "$FAST"
  sim_qm_create 101 web 'linus;linus-r1'
  sim_host 'qm set 101 --lock backup' >/dev/null
  ops status 101
  assert_success
  assert_line 'LINUS_DATA:{"id":101,"linus":true,"lock":"backup","name":"web","node":"pve","op":"status","state":"stopped","template":false}'
  assert_equal "${lines[-1]}" LINUS_END
  ops status 101 102
  assert_failure 1
  assert_line 'LINUS_ERROR:expected a VM ID (100-999999999)'
}

@test "a failure inside a command still ends in exactly one failure block" {
  require_sim
  sim_setup "$FAST"
  sim_faults '{"offlineNodes":["pve"]}'
  ops status 101
  assert_failure
  assert_equal "$(grep -c '^LINUS_RESULT:' <<<"$output")" 1
  assert_equal "$(grep -c '^LINUS_END$' <<<"$output")" 1
  assert_equal "${lines[-1]}" LINUS_END
}

@test "a TERM during a command is CANCELLED with one failure block" {
  require_sim
  sim_setup "$FAST"
  sim_qm_create 101 web 'linus;linus-r1'
  # qm start waits lockTimeoutMs (1.5 s) for the held lock: the TERM comes while it does.
  sim_faults '{"heldLock":{"vmid":101,"commands":["start"]}}'
  sim_host "bash $(printf '%q' "$ENTRY_OPS") power start 101 --timeout 1 --remote-dir $(printf '%q' "$SIM_REMOTE") >$BATS_TEST_TMPDIR/out 2>&1 & echo \$! >$BATS_TEST_TMPDIR/pid; wait" &
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'call: qm start' "$BATS_TEST_TMPDIR/out" 2>/dev/null && break
    sleep 0.1
  done
  kill -TERM "$(<"$BATS_TEST_TMPDIR/pid")"
  wait
  run cat "$BATS_TEST_TMPDIR/out"
  assert_line 'LINUS_ERROR_CODE:CANCELLED'
  assert_line 'LINUS_ERROR:cancelled by SIGTERM'
  assert_equal "$(grep -c '^LINUS_RESULT:' <<<"$output")" 1
  assert_equal "${lines[-1]}" LINUS_END
}
