#!/usr/bin/env bats
# Every fault the simulated Proxmox VE host can inject (src/sim/faults.ts), against the bundled
# provisioner: each ends in LINUS_RESULT:FAILURE with the right code and exit status and leaves no
# VM, volume, lock, guest or job process behind (checked in the simulator's own state, not through
# the tools), or succeeds where the provisioner has a way around it. Also: ID races with
# concurrent runs and a foreign VM, signals to a running job, and `cancel`.

load helpers/common
load helpers/sim

FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
RID=fault-run1

setup() {
  require_sim
  test_image 2
}

teardown() {
  sim_teardown
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # [more options]
  printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --name f01 --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "$@"
}

provision() { # [more options]
  run sim_host "bash $BUNDLE run $(opts "$@") 2>&1"
}

# The failure block with <code> and <exit>, and nothing left of the run.
assert_failed_clean() { # <code> <exit> [vmid...]
  assert_failure "$2"
  assert_line 'LINUS_RESULT:FAILURE'
  assert_line "LINUS_ERROR_CODE:$1"
  assert_line "LINUS_EXIT:$2"
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_equal "$(cat "$(sim_job "$RID")/exit")" "$2"
  assert_no_leftovers "$RID" "${@:3}"
}

linus_value() { # <KEY>
  sed -n "s/^LINUS_$1://p" <<<"$output" | tail -n 1
}

@test "importFail: CREATE_FAILED, the half-created VM and its volumes are gone" {
  sim_setup "$FAST"
  sim_faults '{"importFail":true}'
  provision
  assert_failed_clean CREATE_FAILED 5 100
  assert_line --partial 'LINUS_ERROR:qm create 100 failed: unable to create VM 100 - copy failed'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
}

# API2/Qemu.pm create_vm (qemu-server 9.2.6 l.1374, l.1478-1558): the worker that allocates the
# disks is killed before it writes the full config; only `lock: create` and the volumes remain.
@test "createCrash kill: qm create killed mid-import while the job lives; the rollback removes its claim and volumes" {
  sim_setup "$FAST"
  sim_faults '{"createCrash":"kill"}'
  provision
  assert_failed_clean CREATE_FAILED 5 100
  assert_line 'LINUS_ERROR:qm create 100 failed: exit status 137'
  assert_line 'linus: rollback: VM 100 is only our claim (its qm create never finished): removing it'
  assert_line 'linus: VM 100 (a qm create that never finished) removed with local-lvm:vm-100-cloudinit local-lvm:vm-100-disk-0'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  [[ ! -e "$(sim_job "$RID")/claim" ]] || fail "the claim is still recorded"
}

# The storageFull fault makes the allocation fail while /cluster/resources still reports room
# (as when a thin pool hits its threshold), so the capacity pre-check passes and `qm create`'s
# worker fails: CREATE_FAILED with the storage's message. INSUFFICIENT_STORAGE is the pre-check's
# code, for a storage that reports too little room (next test), before anything is created.
@test "storageFull: CREATE_FAILED with the storage's message, nothing left" {
  sim_setup "$FAST"
  sim_faults '{"storageFull":["local-lvm"]}'
  provision
  assert_failed_clean CREATE_FAILED 5 100
  assert_line --partial 'free space in thin pool pve/data reached threshold'
  assert_equal "$(sim_volumes)" ''
}

@test "a storage that reports too little room: INSUFFICIENT_STORAGE before any write" {
  sim_setup '{"storageCapacity":{"local":107374182400,"local-lvm":4294967296}}'
  provision
  assert_failed_clean INSUFFICIENT_STORAGE 10
  run sim_calls
  refute_output --regexp '^qm '
}

@test "offlineNodes: NODE_OFFLINE before any write" {
  sim_setup "$FAST"
  sim_faults '{"offlineNodes":["pve"]}'
  provision
  assert_failed_clean NODE_OFFLINE 4
  run sim_calls
  refute_output --regexp '^qm '
}

@test "heldLock on create: LOCK_TIMEOUT, nothing left" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"commands":["create"]}}'
  provision
  assert_failed_clean LOCK_TIMEOUT 5
  assert_line --partial "got timeout"
  assert_equal "$(sim_vms)" ''
}

@test "heldLock on resize: LOCK_TIMEOUT (qm resize exits 0), VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"commands":["disk resize"]}}'
  provision
  assert_failed_clean LOCK_TIMEOUT 5 100
  assert_line --regexp "^LINUS_ERROR:.*can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"
  assert_equal "$(sim_vms)" ''
}

@test "heldLock on start: LOCK_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"vmid":100,"commands":["start"]}}'
  provision
  assert_failed_clean LOCK_TIMEOUT 5 100
  assert_equal "$(sim_vms)" ''
}

@test "startFail: START_FAILED, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"startFail":true}'
  provision
  assert_failed_clean START_FAILED 5 100
  assert_line --partial 'start failed: QEMU exited with code 1'
  assert_equal "$(sim_vms)" ''
}

# qm destroy --destroy-unreferenced-disks 1 activates every storage with images content; one
# that is not online fails it after the referenced disks were freed, leaving the config (§15.7).
@test "storageOffline (an NFS storage the VM does not use) and startFail: the rollback still removes the VM" {
  sim_setup "$FAST"
  sim_nfs_storage nfs1
  sim_faults '{"startFail":true,"storageOffline":["nfs1"]}'
  provision
  assert_failed_clean START_FAILED 5 100
  refute_line --partial 'rollback: VM 100 was not removed'
  assert_equal "$(sim_vms)" ''
}

@test "resizeFail: RESIZE_FAILED although qm resize exits 0, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"resizeFail":true}'
  provision
  assert_failed_clean RESIZE_FAILED 5 100
  assert_line --regexp '^LINUS_ERROR:disk of VM 100 is 2G, not 8G: command .*lvextend.* failed: exit code 5$'
  assert_equal "$(sim_vms)" ''
}

@test "agent never, neighbour on: SUCCESS through the neighbour table with the guest's IP" {
  sim_setup "$FAST"
  sim_faults '{"agent":"never"}'
  provision
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line --regexp '^linus: address 127\.88\.[0-9.]+ from the neighbour table$'
  assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip 100)"
}

@test "agent answering late (an image that ships it): SUCCESS through the agent" {
  test_image 8 rocky-9
  sim_setup "$FAST"
  sim_faults '{"agent":{"delayMs":2500},"neighbour":false}'
  provision --os rocky
  assert_success
  assert_line --regexp '^linus: address 127\.88\.[0-9.]+ from the guest agent$'
  assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip 100)"
}

@test "agent never, neighbour false: IP_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"agent":"never","neighbour":false}'
  provision --timeout 3
  assert_failed_clean IP_TIMEOUT 6 100
  assert_equal "$(sim_vms)" ''
}

@test "guestSsh never: SSH_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"guestSsh":"never"}'
  provision --timeout 4
  assert_failed_clean SSH_TIMEOUT 6 100
  assert_equal "$(sim_vms)" ''
}

@test "latencyMs: SUCCESS, and every call took at least the latency" {
  sim_setup "$FAST"
  sim_faults '{"latencyMs":250}'
  provision
  assert_success
  run perl -MJSON::PP -ne 'my $c = decode_json($_); print "$c->{durationMs}\n" if $c->{durationMs} < 250' "$SIM_ROOT/sim/calls.jsonl"
  assert_output ''
  # pveversion, resources, bridge, create, resize, config, start at least.
  (($(sim_call_count) >= 7)) || fail "too few calls logged"
}

@test "vmlistStale with 6 concurrent runs: 6 distinct VMs, all SUCCESS" {
  sim_setup "$FAST"
  sim_faults '{"staleVmids":[]}'
  local i pids=()
  for i in 1 2 3 4 5 6; do
    sim_host "bash $BUNDLE run $(RID=race-run$i opts --name race$i) >$BATS_TEST_TMPDIR/out$i 2>&1" &
    pids+=($!)
  done
  local failed=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
  done
  local ids=() ips=()
  for i in 1 2 3 4 5 6; do
    run cat "$BATS_TEST_TMPDIR/out$i"
    assert_line 'LINUS_RESULT:SUCCESS'
    ids+=("$(linus_value VM_ID)")
    ips+=("$(linus_value VM_IP)")
    assert_equal "$(sim_tagged "race-run$i")" "$(linus_value VM_ID)"
    assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip "$(linus_value VM_ID)")"
  done
  ((failed == 0)) || fail "a run exited non-zero"
  assert_equal "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" 6
  assert_equal "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)" 6
  assert_equal "$(sim_vms | tr '\n' ' ')" '100 101 102 103 104 105 '
  # The claims did collide (every run saw 100 free) and were retried, without asking nextid.
  (($(sim_call_count '^qm create ') > 6)) || fail "no ID collision happened: the test proves nothing"
  assert_equal "$(sim_call_count '^pvesh get /cluster/nextid')" 0
  assert_equal "$(sim_locks)" ''
  assert_equal "$(sim_orphan_volumes)" ''
}

@test "a foreign VM that wins the ID race is never touched, on success" {
  sim_setup "$FAST"
  sim_qm_create 100 foreign
  local before
  before=$(sim_conf 100)
  sim_faults '{"staleVmids":[]}'
  provision
  assert_success
  assert_line 'LINUS_VM_ID:101'
  assert_line 'linus: VM ID 100 is taken; trying 101'
  assert_equal "$(sim_conf 100)" "$before"
  run sim_calls
  refute_output --regexp '^qm (config|stop|destroy|set|resize|start) 100'
}

@test "a foreign VM that wins the ID race is never touched, on rollback" {
  sim_setup "$FAST"
  sim_qm_create 100 foreign
  local before
  before=$(sim_conf 100)
  sim_faults '{"staleVmids":[],"startFail":true}'
  provision
  assert_failed_clean START_FAILED 5 101
  assert_equal "$(sim_vms)" 100
  assert_equal "$(sim_conf 100)" "$before"
  assert_equal "$(sim_volumes | cut -d' ' -f1 | sort -u)" 100
  run sim_calls
  refute_output --regexp '^qm (config|stop|destroy|set|resize|start) 100'
}

# Starts a job that will sit in the IP step (no agent, no neighbour entry, long timeout) and
# waits until its VM exists.
start_stuck_job() {
  sim_faults '{"agent":"never","neighbour":false}'
  run sim_host "bash $BUNDLE start $(opts --timeout 600)"
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
  assert_line 'linus: rollback: VM 100 and its volumes removed'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_running_guests)" ''
}
