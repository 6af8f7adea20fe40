#!/usr/bin/env bats
# Detached jobs: start returns at once, wait follows from an offset and is re-runnable, cancel
# and signals roll back (after an interrupted qm create has finished), dropped sessions don't.

load helpers/common

setup() {
  fake_host
  ssh_listener "$GUEST_IP"
  mapfile -t OPTS < <(std_opts)
}

teardown() {
  stop_listener
  local pid
  for pid in "$REMOTE"/jobs/*/pid; do
    [[ -f "$pid" ]] && kill "$(cat "$pid")" 2>/dev/null || true
  done
}

wait_for_log() { # <run-id> <text>
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "$2" "$REMOTE/jobs/$1/log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "log of $1 never showed: $2"
}

@test "start returns at once with the run id; wait follows, resumes from an offset, and re-runs" {
  echo 2 >"$PVE_STUB_STATE/create_sleep"
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-001
  assert_success
  assert_output --partial 'LINUS_RUN_ID:job-001'
  assert_line 'LINUS_JOB:RUNNING'
  run bash "$ENTRY" wait job-001 --remote-dir "$REMOTE" --max-seconds 0
  assert_failure 75
  assert_line 'LINUS_JOB:RUNNING'
  refute_line 'LINUS_END'
  local offset
  offset=$(sed -n 's/^LINUS_OFFSET://p' <<<"$output")
  run bash "$ENTRY" wait job-001 --remote-dir "$REMOTE" --offset "$offset"
  assert_success
  assert_line 'LINUS_JOB:FINISHED'
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_equal "${lines[-1]}" 'LINUS_END'
  local first_half=$output
  run bash "$ENTRY" wait job-001 --remote-dir "$REMOTE"
  assert_success
  assert_line 'LINUS_STEP:1/9:validate'
  assert_line 'LINUS_RESULT:SUCCESS'
  [[ "$first_half" != *LINUS_STEP:1/9:validate* || "$offset" == 0 ]] || fail "offset did not skip the start of the log"
  assert [ -f "$REMOTE/jobs/job-001/result" ]
  assert_equal "$(cat "$REMOTE/jobs/job-001/state")" finished
  assert_equal "$(cat "$REMOTE/jobs/job-001/exit")" 0
}

@test "the password is shown by the first wait only and never kept in the log" {
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-pw1 --password
  assert_success
  run bash "$ENTRY" wait job-pw1 --remote-dir "$REMOTE"
  assert_success
  assert_line --regexp '^LINUS_VM_PASSWORD:'
  local pw
  pw=$(sed -n 's/^LINUS_VM_PASSWORD://p' <<<"$output")
  run bash "$ENTRY" wait job-pw1 --remote-dir "$REMOTE"
  assert_success
  refute_line --regexp '^LINUS_VM_PASSWORD:'
  refute grep -rqF "$pw" "$REMOTE/jobs/job-pw1"
}

@test "starting the same run id twice is one job; with other options it is refused" {
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-dup1
  assert_success
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-dup1
  assert_success
  assert_line --partial 'was already started'
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-dup1 --cores 4
  assert_failure 1
  assert_line --partial 'already used by another request'
  run bash "$ENTRY" wait job-dup1 --remote-dir "$REMOTE"
  assert_success
  assert_equal "$(fake_vms)" 100
}

@test "wait and cancel on an unknown run id are JOB_NOT_FOUND" {
  run bash "$ENTRY" wait nosuch-job --remote-dir "$REMOTE"
  assert_failure 11
  assert_line 'LINUS_ERROR_CODE:JOB_NOT_FOUND'
  run bash "$ENTRY" cancel nosuch-job --remote-dir "$REMOTE"
  assert_failure 11
  run bash "$ENTRY" wait 'x;rm' --remote-dir "$REMOTE"
  assert_failure 1
}

@test "cancel during qm create lets the create finish, then removes only our VM: CANCELLED" {
  echo 2 >"$PVE_STUB_STATE/create_sleep"
  printf 'name: foreign\ntags: other\n' >"$PVE_STUB_STATE/vms/150.conf"
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-cancel1
  assert_success
  wait_for_log job-cancel1 'call: qm create'
  run bash "$ENTRY" cancel job-cancel1 --remote-dir "$REMOTE"
  assert_failure 130
  assert_line 'LINUS_ERROR_CODE:CANCELLED'
  assert_line 'LINUS_EXIT:130'
  assert_line --partial 'waiting for the Proxmox call in flight to finish'
  assert_line --partial 'rollback: VM 100 and its volumes removed'
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_equal "$(fake_vms)" 150
  assert_equal "$(cat "$REMOTE/jobs/job-cancel1/exit")" 130
}

@test "TERM, INT or HUP sent to the job itself roll it back" {
  local sig n=0
  for sig in TERM INT HUP; do
    n=$((n + 1))
    echo 1 >"$PVE_STUB_STATE/create_sleep"
    run bash "$ENTRY" start "${OPTS[@]/web01/web0$n}" --run-id "job-sig$n-x"
    wait_for_log "job-sig$n-x" 'call: qm create'
    kill "-$sig" "$(cat "$REMOTE/jobs/job-sig$n-x/pid")"
    run bash "$ENTRY" wait "job-sig$n-x" --remote-dir "$REMOTE"
    assert_failure 130
    assert_line "LINUS_ERROR:cancelled by SIG$sig"
    assert_equal "$(fake_vms)" ''
  done
}

@test "run cancels its job on INT/TERM but only detaches on HUP (the job goes on)" {
  echo 1 >"$PVE_STUB_STATE/create_sleep"
  bash "$ENTRY" run "${OPTS[@]}" --run-id job-run1 >"$BATS_TEST_TMPDIR/run1.out" 2>&1 &
  local runner=$!
  wait_for_log job-run1 'call: qm create'
  kill -TERM "$runner"
  wait "$runner" || true
  run cat "$BATS_TEST_TMPDIR/run1.out"
  assert_line 'LINUS_ERROR_CODE:CANCELLED'
  assert_line 'LINUS_JOB:FINISHED'
  assert_equal "$(fake_vms)" ''

  bash "$ENTRY" run "${OPTS[@]}" --run-id job-run2 >"$BATS_TEST_TMPDIR/run2.out" 2>&1 &
  runner=$!
  wait_for_log job-run2 'call: qm create'
  kill -HUP "$runner"
  local status=0
  wait "$runner" || status=$?
  assert_equal "$status" 75
  run bash "$ENTRY" wait job-run2 --remote-dir "$REMOTE"
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
}

@test "a job killed without a chance to clean up is reported, not waited for forever" {
  echo 3 >"$PVE_STUB_STATE/create_sleep"
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-kill9
  wait_for_log job-kill9 'call: qm create'
  kill -KILL "$(cat "$REMOTE/jobs/job-kill9/pid")"
  run bash "$ENTRY" wait job-kill9 --remote-dir "$REMOTE" --max-seconds 10
  assert_failure 70
  assert_line 'LINUS_ERROR_CODE:INTERNAL'
  assert_line --partial 'ended without a result'
}

@test "wait options are validated" {
  run bash "$ENTRY" start "${OPTS[@]}" --run-id job-opts1
  run bash "$ENTRY" wait job-opts1 --remote-dir "$REMOTE" --offset 99999999
  assert_failure 1
  assert_line --partial 'past the end of the log'
  run bash "$ENTRY" wait job-opts1 --remote-dir "$REMOTE" --max-seconds x
  assert_failure 1
  run bash "$ENTRY" wait job-opts1 --remote-dir "$REMOTE" --bogus 1
  assert_failure 1
  run bash "$ENTRY" wait job-opts1 --remote-dir "$REMOTE"
  assert_success
}
