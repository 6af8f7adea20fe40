#!/usr/bin/env bats
# shell/lib/job.sh on the simulated host: start returns at once, wait follows from an offset and is
# re-runnable, cancel and signals roll back (after an interrupted qm create has finished), dropped
# sessions don't. The simulator's createCrash "hang" fault (src/sim/faults.ts) holds `qm create`
# in flight, flock held, until the test lets it go on. Signals and cancel also while the job waits
# for the address.

load helpers/common
load helpers/sim

setup() {
  require_sim
  test_image 2
}

job() { # <command> <run-id> [more options]
  run sim_host "bash $ENTRY $1 $2 --remote-dir $SIM_REMOTE ${*:3}"
}

hold_create() {
  sim_faults '{"createCrash":"hang"}'
}

release_create() {
  sim_faults '{}'
}

# Waits until <run-id>'s `qm create` of VM 100 is in flight: its config holds only `lock: create`.
wait_create_held() { # <run-id>
  local i
  wait_job_log "$1" 'call: qm create'
  for ((i = 0; i < 150; i++)); do
    [[ "$(sim_conf 100 2>/dev/null)" == 'lock: create' ]] && return 0
    sleep 0.2
  done
  fail "the qm create of $1 never got under way"
}

# Lets the held `qm create` of <run-id> go on once the job's rollback waits for it.
release_when_rollback_waits() { # <run-id>
  wait_job_log "$1" 'rollback: waiting for the Proxmox call in flight to finish'
  assert_equal "$(sim_conf 100)" 'lock: create'
  release_create
}

@test "start returns at once with the run id; wait follows, resumes from an offset, and re-runs" {
  sim_setup "$PREPARED"
  hold_create
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-001)"
  assert_success
  assert_output --partial 'LINUS_RUN_ID:job-001'
  assert_line 'LINUS_JOB:RUNNING'
  wait_create_held job-001
  job wait job-001 --max-seconds 0
  assert_failure 75
  assert_line 'LINUS_JOB:RUNNING'
  refute_line 'LINUS_END'
  local offset
  offset=$(sed -n 's/^LINUS_OFFSET://p' <<<"$output")
  ((offset > 0)) || fail "no log before the held qm create: offset $offset"
  release_create
  job wait job-001 --offset "$offset"
  assert_success
  assert_line 'LINUS_JOB:FINISHED'
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_equal "${lines[-1]}" 'LINUS_END'
  refute_line 'LINUS_STEP:1/9:validate'
  job wait job-001
  assert_success
  assert_line 'LINUS_STEP:1/9:validate'
  assert_line 'LINUS_RESULT:SUCCESS'
  local dir
  dir=$(sim_job job-001)
  assert [ -f "$dir/result" ]
  assert_equal "$(cat "$dir/state")" finished
  assert_equal "$(cat "$dir/exit")" 0
}

@test "the password is shown by the first wait only and never kept in the log" {
  sim_setup "$PREPARED"
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-pw1 --password)"
  assert_success
  job wait job-pw1
  assert_success
  assert_line --regexp '^LINUS_VM_PASSWORD:'
  local pw
  pw=$(sed -n 's/^LINUS_VM_PASSWORD://p' <<<"$output")
  job wait job-pw1
  assert_success
  refute_line --regexp '^LINUS_VM_PASSWORD:'
  refute grep -rqF "$pw" "$(sim_job job-pw1)"
}

@test "starting the same run id twice is one job; with other options it is refused" {
  sim_setup "$PREPARED"
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-dup1)"
  assert_success
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-dup1)"
  assert_success
  assert_line --partial 'was already started'
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-dup1 --cores 4)"
  assert_failure 1
  assert_line --partial 'already used by another request'
  job wait job-dup1
  assert_success
  assert_equal "$(sim_vms)" 100
}

@test "wait and cancel on an unknown run id are JOB_NOT_FOUND" {
  local remote="$BATS_TEST_TMPDIR/remote"
  run bash "$ENTRY" wait nosuch-job --remote-dir "$remote"
  assert_failure 11
  assert_line 'LINUS_ERROR_CODE:JOB_NOT_FOUND'
  run bash "$ENTRY" cancel nosuch-job --remote-dir "$remote"
  assert_failure 11
  run bash "$ENTRY" wait 'x;rm' --remote-dir "$remote"
  assert_failure 1
}

@test "cancel during qm create lets the create finish, then removes only our VM: CANCELLED" {
  sim_setup "$PREPARED"
  sim_qm_create 150 foreign other
  hold_create
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-cancel1)"
  assert_success
  wait_create_held job-cancel1
  sim_host "bash $ENTRY cancel job-cancel1 --remote-dir $SIM_REMOTE" >"$BATS_TEST_TMPDIR/cancel.out" 2>&1 &
  local canceller=$! status=0
  release_when_rollback_waits job-cancel1
  wait "$canceller" || status=$?
  assert_equal "$status" 130
  run cat "$BATS_TEST_TMPDIR/cancel.out"
  assert_line 'LINUS_ERROR_CODE:CANCELLED'
  assert_line 'LINUS_EXIT:130'
  assert_line --partial 'waiting for the Proxmox call in flight to finish'
  assert_line --partial 'rollback: VM 100 and its volumes removed'
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_equal "$(sim_vms)" 150
  assert_equal "$(cat "$(sim_job job-cancel1)/exit")" 130
}

@test "TERM, INT or HUP sent to the job itself during qm create roll it back" {
  sim_setup "$PREPARED"
  local sig n=0
  for sig in TERM INT HUP; do
    n=$((n + 1))
    hold_create
    run sim_host "bash $ENTRY start $(web01_opts --name "web0$n" --run-id "job-sig$n-x")"
    wait_create_held "job-sig$n-x"
    kill "-$sig" "$(cat "$(sim_job "job-sig$n-x")/pid")"
    release_when_rollback_waits "job-sig$n-x"
    job wait "job-sig$n-x"
    assert_failure 130
    assert_line "LINUS_ERROR:cancelled by SIG$sig"
    assert_equal "$(sim_vms)" ''
  done
}

@test "run cancels its job on INT/TERM but only detaches on HUP (the job goes on)" {
  sim_setup "$PREPARED"
  hold_create
  # exec all the way down: $! is the provisioner's own process.
  "$SIM_SHELL" -c "exec bash $ENTRY run $(web01_opts --run-id job-run1)" >"$BATS_TEST_TMPDIR/run1.out" 2>&1 &
  local runner=$!
  wait_create_held job-run1
  kill -TERM "$runner"
  release_when_rollback_waits job-run1
  wait "$runner" || true
  run cat "$BATS_TEST_TMPDIR/run1.out"
  assert_line 'LINUS_ERROR_CODE:CANCELLED'
  assert_line 'LINUS_JOB:FINISHED'
  assert_equal "$(sim_vms)" ''

  hold_create
  "$SIM_SHELL" -c "exec bash $ENTRY run $(web01_opts --run-id job-run2)" >"$BATS_TEST_TMPDIR/run2.out" 2>&1 &
  runner=$!
  wait_create_held job-run2
  kill -HUP "$runner"
  local status=0
  wait "$runner" || status=$?
  assert_equal "$status" 75
  release_create
  job wait job-run2
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
}

@test "a job killed without a chance to clean up is reported, not waited for forever" {
  sim_setup "$PREPARED"
  hold_create
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-kill9)"
  wait_create_held job-kill9
  kill -KILL "$(cat "$(sim_job job-kill9)/pid")"
  job wait job-kill9 --max-seconds 10
  # Not a bug in linus: something killed the job; what it made is gc's to find.
  assert_failure 11
  assert_line 'LINUS_ERROR_CODE:JOB_LOST'
  assert_line --partial 'ended without a result'
  assert_line --partial "linus gc"
  refute_line --partial 'bug in linus'
}

@test "wait options are validated" {
  sim_setup "$PREPARED"
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-opts1)"
  job wait job-opts1 --offset 99999999
  assert_failure 1
  assert_line --partial 'past the end of the log'
  job wait job-opts1 --max-seconds x
  assert_failure 1
  job wait job-opts1 --bogus 1
  assert_failure 1
  job wait job-opts1
  assert_success
}

# Starts a job that will sit in the IP step (no agent, no neighbour entry, long timeout) and
# waits until its VM exists.
start_stuck_job() {
  sim_faults '{"agent":"never","neighbour":false}'
  run sim_host "bash $BUNDLE start $(sim_opts --timeout 600)"
  assert_success
  assert_line 'LINUS_JOB:RUNNING'
  wait_job_log "$RID" '^LINUS_STEP:7/9:ip$'
  assert_equal "$(sim_tagged "$RID")" 100
  assert_equal "$(sim_running_guests)" 100
}

# A signal to the job process: it rolls back and records CANCELLED.
signal_job() { # <signal>
  sim_setup "$FAST"
  start_stuck_job
  kill -"$1" "$(cat "$(sim_job "$RID")/pid")"
  run sim_host "bash $BUNDLE wait $RID --remote-dir $SIM_REMOTE --max-seconds 60 2>&1"
  assert_failed_clean CANCELLED 130 100
  assert_line "LINUS_ERROR:cancelled by SIG$1"
  assert_line 'linus: rollback: VM 100 and its volumes removed'
  assert_equal "$(sim_vms)" ''
}

@test "SIGTERM to a running job: rolled back, CANCELLED" {
  signal_job TERM
}

@test "SIGINT to a running job: rolled back, CANCELLED" {
  signal_job INT
}

@test "SIGHUP to a running job: rolled back, CANCELLED" {
  signal_job HUP
}

@test "cancel while running: CANCELLED, VM gone" {
  sim_setup "$FAST"
  start_stuck_job
  run sim_host "bash $BUNDLE cancel $RID --remote-dir $SIM_REMOTE 2>&1"
  assert_failed_clean CANCELLED 130 100
  # A cancel asked for is said so (not as the TERM that carries it), and the final block names the
  # VM the run had made and rolled back.
  assert_line 'LINUS_ERROR:cancelled on request (Ctrl-C or linus cancel)'
  assert_line 'LINUS_VM_ID:100'
  assert_line 'linus: rollback: VM 100 and its volumes removed'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_running_guests)" ''
}

@test "log_chunk hands out complete lines only, from an offset, counting bytes; a half-written line waits" {
  local log="$BATS_TEST_TMPDIR/log"
  printf 'one\nzwei – drei\nhal' >"$log"
  lib_run "log_open '$log' 4; log_chunk; printf '[%s] %s\n' \"\$CHUNK\" \"\$NEXT_OFFSET\"
    printf 'f\nfour\n' >>'$log'; log_chunk; printf '[%s] %s\n' \"\$CHUNK\" \"\$NEXT_OFFSET\"
    log_chunk; printf '[%s] %s\n' \"\$CHUNK\" \"\$NEXT_OFFSET\""
  assert_success
  # 'zwei – drei\n' is 14 bytes (the dash is 3): 4 + 14 = 18, then 'half\nfour\n' is 10 more.
  assert_output $'[zwei – drei\n] 18\n[half\nfour\n] 28\n[] 28'
  assert_equal "$(wc -c <"$log")" 28
}

@test "job_alive: a running job is alive; an exited one, a zombie and a malformed pid file are not" {
  local dir="$BATS_TEST_TMPDIR/jobdir" parent i
  mkdir -p "$dir"
  lib_run "job_alive '$dir'"
  assert_success
  # A parent that never reaps its child leaves the child a zombie.
  perl -e '$| = 1; my $child = fork() // die; exit 0 unless $child; print "$child\n"; sleep 30' >"$dir/pid" &
  parent=$!
  for ((i = 0; i < 50; i++)); do
    [[ -s "$dir/pid" && "$(cut -d' ' -f3 "/proc/$(<"$dir/pid")/stat" 2>/dev/null)" == Z ]] && break
    sleep 0.1
  done
  assert_equal "$(cut -d' ' -f3 "/proc/$(<"$dir/pid")/stat")" Z
  lib_run "job_alive '$dir'"
  assert_failure
  echo "$parent" >"$dir/pid"
  lib_run "job_alive '$dir'"
  assert_success
  kill "$parent"
  wait "$parent" || true
  lib_run "job_alive '$dir'"
  assert_failure
  echo nonsense >"$dir/pid"
  lib_run "job_alive '$dir'"
  assert_failure
}

@test "runs lists every job with its state, result, VM, name, start time, address and user" {
  sim_setup "$PREPARED"
  run sim_host "bash $ENTRY runs --remote-dir $SIM_REMOTE"
  assert_success
  refute_line --regexp '^LINUS_RUN:'
  assert_line 'LINUS_RESULT:SUCCESS'
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-runs1 --user alice)"
  assert_success
  job wait job-runs1
  assert_success
  local ip
  ip=$(sed -n 's/^LINUS_VM_IP://p' <<<"$output")
  sim_faults '{"startFail":true}'
  run sim_host "bash $ENTRY run $(web01_opts --run-id job-runs2 --name web02 --user bob)"
  assert_failure 5
  sim_faults '{"agent":"never","neighbour":false}'
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-runs3 --name web03 --timeout 600)"
  assert_success
  wait_job_log job-runs3 'call: qm start'
  run sim_host "bash $ENTRY runs --remote-dir $SIM_REMOTE"
  assert_success
  assert_line --regexp "^LINUS_RUN:job-runs1:finished:SUCCESS:100:web01:[0-9]+:$ip:alice\$"
  assert_line --regexp '^LINUS_RUN:job-runs2:finished:START_FAILED:101:web02:[0-9]+:-:bob$'
  assert_line --regexp '^LINUS_RUN:job-runs3:running:-:10[0-9]:web03:[0-9]+:-:-$'
  assert_equal "${lines[-1]}" 'LINUS_END'
  local started
  started=$(sed -n 's/^LINUS_RUN:job-runs1:[^:]*:[^:]*:[^:]*:[^:]*:\([0-9]*\):.*/\1/p' <<<"$output")
  ((started > $(date +%s) - 600 && started <= $(date +%s))) || fail "start time $started"
  job cancel job-runs3
  assert_failure 130
}

@test "runs reports a job whose process vanished without a result as died" {
  sim_setup "$PREPARED"
  sim_faults '{"agent":"never","neighbour":false}'
  run sim_host "bash $ENTRY start $(web01_opts --run-id job-runs9 --timeout 600)"
  assert_success
  wait_job_log job-runs9 'call: qm start'
  local pid
  pid=$(<"$(sim_job job-runs9)/pid")
  kill -KILL -- "-$pid"
  _sim_gone_within "$pid" 10 || fail "job survived SIGKILL"
  run sim_host "bash $ENTRY runs --remote-dir $SIM_REMOTE"
  assert_success
  assert_line --regexp '^LINUS_RUN:job-runs9:died:-:100:web01:[0-9]+:-:-$'
}
