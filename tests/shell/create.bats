#!/usr/bin/env bats
# shell/lib/create.sh on the simulated host: ID claims (races with concurrent runs and a foreign VM
# included), resize verification and rollback, each on its own against the host's state; the
# create, resize and start faults of src/sim/faults.ts, each rolled back to nothing.

load helpers/common
load helpers/sim

setup() {
  require_sim
  test_image 2
}

# A script on the simulated host that prepares request mine-001 (steps 1-3 up to the create
# arguments) and then runs $1.
with_request() { # <bash code>
  local job="$SIM_REMOTE/jobs/mine-001"
  sim_lib_run "parse_spec $(web01_opts --run-id mine-001); validate_spec
    check_cluster; image_resolve; image_fetch; mkdir -p '$job'
    prepare_cloudinit '$job' 0; build_create_args '$job' 1.0.0; $1"
}

# With /cluster/resources reading a stale VM list (faults.ts staleVmids), both the first candidate
# and the next one are VMs that exist: each `qm create` fails with `VM <id> already exists`.
@test "an ID taken between the resources read and create moves the claim to the next ID; the winner is untouched" {
  sim_setup "$PREPARED"
  sim_qm_create 100 foreign-100 other
  sim_qm_create 101 foreign-101 other
  local before100 before101
  before100=$(sim_conf 100)
  before101=$(sim_conf 101)
  sim_faults '{"staleVmids":[]}'
  run sim_host "bash $ENTRY run $(web01_opts)"
  assert_success
  assert_line --partial 'VM ID 100 is taken; trying 101'
  assert_line --partial 'VM ID 101 is taken; trying 102'
  assert_line 'LINUS_VM_ID:102'
  assert_equal "$(sim_conf 100)" "$before100"
  assert_equal "$(sim_conf 101)" "$before101"
}

# The candidates come from a stale read that listed no VM; VMs 100-109 exist on the host.
@test "claims are bounded: ten taken IDs in a row is ID_CLAIM_EXHAUSTED, without another read" {
  sim_setup "$PREPARED" 10
  with_request 'pick_vm_ids "[]" "$(date +%s)"; create_vm'
  assert_failure 5
  assert_output --partial 'error [ID_CLAIM_EXHAUSTED]: VM IDs 100 101 102 103 104 105 106 107 108 109 were all taken'
  assert_equal "$(grep -c 'call: qm create' <<<"$output")" 10
  # Step 1's one read (check_cluster) and no other.
  assert_equal "$(grep -c 'call: pvesh' <<<"$output")" 1
  assert_equal "$(sim_vms | wc -l)" 10
}

@test "candidate IDs are the first free ones from 100 that /cluster/resources lists for no VM or CT" {
  lib_run 'pick_vm_ids '\''[{"type":"qemu","vmid":100},{"type":"lxc","vmid":101},{"type":"node","node":"pve"},{"type":"qemu","vmid":103}]'\'' 7; echo "${FREE_IDS[*]} $IDS_SEEN"'
  assert_output '102 104 105 106 107 108 109 110 111 112 7'
  lib_run 'pick_vm_ids "{}" 7'
  assert_failure 70
  assert_output --partial 'error [INTERNAL]: cannot parse /cluster/resources'
}

@test "a fleet VM is created with linus' tags, the fleet's and its own, and its note after the spec summary" {
  sim_setup "$FAST"
  run sim_host "bash $ENTRY run $(web01_opts --run-id fleet-001 --fleet lab --tags 'web;tier.1' --description 'Front end')"
  assert_success
  assert_equal "$(sim_conf 100 | grep '^tags: ')" 'tags: linus;linus-fleet-001;linus-fleet-lab;web;tier.1'
  # The config file keeps the description as comment lines at its top, one per line, encoded.
  assert_equal "$(sim_conf 100 | sed -n 's/^#//p' | perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge')" "linus 0.0.0-dev run=fleet-001 os=ubuntu-24.04 cores=2 memory=2048M disk=8G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0 image=sha256:$IMAGE_SHA
Front end"
}

@test "a resize that fails silently (exit 0) is caught from the config: RESIZE_FAILED" {
  sim_setup "$PREPARED"
  sim_faults '{"resizeFail":true}'
  run sim_host "bash $ENTRY run $(web01_opts)"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:RESIZE_FAILED'
  assert_line --regexp '^LINUS_ERROR:disk of VM 100 is 2G, not 8G: command .*lvextend.* failed: exit code 5$'
  assert_equal "$(sim_vms)" ''
}

@test "size_bytes reads format_size values back" {
  lib_run 'size_bytes 20G; size_bytes 2252M; size_bytes 4K; size_bytes 1T; size_bytes 1073741824; size_bytes 1.5G || echo bad'
  assert_output "$((20 * 1024 ** 3))
$((2252 * 1024 ** 2))
4096
$((1024 ** 4))
1073741824
bad"
}

@test "rollback removes our VM with its disks" {
  sim_setup "$PREPARED"
  with_request 'pick_vm_ids "[]" "$(date +%s)"; create_vm; START_TRIED=1; pve qm start 100; rollback; echo "msg=$FAIL_MSG"'
  assert_success
  assert_output --partial 'call: qm stop 100'
  assert_output --partial 'call: qm destroy 100 --purge 1'
  assert_line 'msg='
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  assert_equal "$(sim_running_guests)" ''
}

@test "rollback never touches a VM without our run tag, and is idempotent" {
  sim_setup "$PREPARED"
  sim_qm_create 100 theirs 'linus;linus-other-run'
  with_request 'CLAIM_ID=100; rollback; rollback'
  assert_success
  assert_output --partial 'VM 100 is not tagged linus-mine-001; leaving it alone'
  assert_equal "$(grep -c 'call: qm' <<<"$output")" 1
  assert_equal "$(sim_vms)" 100
}

# Proxmox lowercases and sorts tags on `qm set` (and keeps them as given on `qm create`, or with
# datacenter.cfg tag-style case-sensitive=1): the run tag counts in any case, order and separator.
@test "rollback knows its run tag in any case, order and separator; a near miss is foreign" {
  sim_setup "$PREPARED"
  sim_qm_create 101 theirs 'Linus;LINUS-MINE-0012 linus-mine-00'
  sim_qm_create 100 mine 'web LINUS-Mine-001,Linus'
  with_request 'CLAIM_ID=101; rollback; CLAIM_ID=100; rollback'
  assert_success
  assert_output --partial 'VM 101 is not tagged linus-mine-001; leaving it alone'
  assert_output --partial 'call: qm destroy 100 --purge 1'
  assert_equal "$(sim_vms)" 101
}

@test "rollback of a claim whose create failed finds nothing to remove" {
  sim_setup "$PREPARED"
  with_request 'CLAIM_ID=105; rollback'
  assert_success
  assert_output --partial 'VM 105 does not exist; nothing to remove'
}

@test "a rollback that cannot destroy says so in the failure message" {
  sim_setup "$PREPARED"
  sim_qm_create 100 mine 'linus;linus-mine-001'
  sim_host 'qm start 100' >/dev/null || fail "qm start 100 failed"
  with_request 'FAIL_MSG=boom; CLAIM_ID=100; rollback; echo "msg=$FAIL_MSG"'
  assert_line --partial "msg=boom (rollback: VM 100 was not removed (VM 100 is running - destroy failed)"
  assert_equal "$(sim_vms)" 100
}

# The faults of src/sim/faults.ts that end here: each run fails with its code and leaves nothing
# behind (assert_failed_clean), or succeeds where the provisioner has a way around it.

@test "importFail: CREATE_FAILED, the half-created VM and its volumes are gone" {
  sim_setup "$FAST"
  sim_faults '{"importFail":true}'
  sim_provision
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
  sim_provision
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
  sim_provision
  assert_failed_clean CREATE_FAILED 5 100
  assert_line --partial 'free space in thin pool pve/data reached threshold'
  assert_equal "$(sim_volumes)" ''
}

@test "heldLock on create: LOCK_TIMEOUT, nothing left" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"commands":["create"]}}'
  sim_provision
  assert_failed_clean LOCK_TIMEOUT 5
  assert_line --partial "got timeout"
  assert_equal "$(sim_vms)" ''
}

@test "heldLock on resize: LOCK_TIMEOUT (qm resize exits 0), VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"commands":["disk resize"]}}'
  sim_provision
  assert_failed_clean LOCK_TIMEOUT 5 100
  assert_line --regexp "^LINUS_ERROR:.*can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"
  assert_equal "$(sim_vms)" ''
}

@test "heldLock on start: LOCK_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"heldLock":{"vmid":100,"commands":["start"]}}'
  sim_provision
  assert_failed_clean LOCK_TIMEOUT 5 100
  assert_equal "$(sim_vms)" ''
}

@test "startFail: START_FAILED, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"startFail":true}'
  sim_provision
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
  sim_provision
  assert_failed_clean START_FAILED 5 100
  refute_line --partial 'rollback: VM 100 was not removed'
  assert_equal "$(sim_vms)" ''
}

@test "resizeFail: RESIZE_FAILED although qm resize exits 0, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"resizeFail":true}'
  sim_provision
  assert_failed_clean RESIZE_FAILED 5 100
  assert_line --regexp '^LINUS_ERROR:disk of VM 100 is 2G, not 8G: command .*lvextend.* failed: exit code 5$'
  assert_equal "$(sim_vms)" ''
}

@test "vmlistStale with 6 concurrent runs: 6 distinct VMs, all SUCCESS" {
  sim_setup "$FAST"
  sim_faults '{"staleVmids":[]}'
  local i pids=()
  for i in 1 2 3 4 5 6; do
    sim_host "bash $BUNDLE run $(RID=race-run$i sim_opts --name race$i) >$BATS_TEST_TMPDIR/out$i 2>&1" &
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
  # The claims did collide (every run saw 100 free) and were resolved: by another run's claim
  # record on this host, or by a `qm create` that found the ID taken.
  local skipped
  skipped=$(cat "$BATS_TEST_TMPDIR"/out[1-6] | grep -c 'is being claimed by another run on this host' || true)
  (($(sim_call_count '^qm create ') + skipped > 6)) || fail "no ID collision happened: the test proves nothing"
  assert_equal "$(sim_call_count '^pvesh get /cluster/nextid')" 0
  assert_equal "$(sim_locks)" ''
  assert_equal "$(sim_orphan_volumes)" ''
}

@test "an ID another job of this host has recorded is skipped without a qm create" {
  sim_setup "$PREPARED"
  mkdir -p "$SIM_REMOTE/jobs/other-run"
  echo "100 local-lvm $(date +%s)" >"$SIM_REMOTE/jobs/other-run/claim"
  with_request "JOB_DIR='$SIM_REMOTE/jobs/mine-001'; pick_vm_ids '[]' \"\$(date +%s)\"; create_vm; [[ -e \"\$JOB_DIR/claim\" ]] || echo 'claim cleared'"
  assert_success
  assert_line --partial 'VM ID 100 is being claimed by another run on this host'
  assert_line 'LINUS_VM_ID:101'
  assert_line 'claim cleared'
  refute_line --partial 'call: qm create 100 '
  assert_equal "$(sim_vms)" 101
}

@test "an ID a running job of this host created is skipped; a finished job's is not" {
  sim_setup "$PREPARED"
  mkdir -p "$SIM_REMOTE/jobs/running-run" "$SIM_REMOTE/jobs/finished-run"
  echo 100 >"$SIM_REMOTE/jobs/running-run/vmid"
  echo running >"$SIM_REMOTE/jobs/running-run/state"
  echo 101 >"$SIM_REMOTE/jobs/finished-run/vmid"
  echo finished >"$SIM_REMOTE/jobs/finished-run/state"
  with_request "JOB_DIR='$SIM_REMOTE/jobs/mine-001'; pick_vm_ids '[]' \"\$(date +%s)\"; create_vm; cat \"\$JOB_DIR/vmid\""
  assert_success
  assert_line --partial 'VM ID 100 is being claimed by another run on this host'
  assert_line 'LINUS_VM_ID:101'
  assert_line 101
  assert_equal "$(sim_vms)" 101
}

@test "a foreign VM that wins the ID race is never touched, on success" {
  sim_setup "$FAST"
  sim_qm_create 100 foreign
  local before
  before=$(sim_conf 100)
  sim_faults '{"staleVmids":[]}'
  sim_provision
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
  sim_provision
  assert_failed_clean START_FAILED 5 101
  assert_equal "$(sim_vms)" 100
  assert_equal "$(sim_conf 100)" "$before"
  assert_equal "$(sim_volumes | cut -d' ' -f1 | sort -u)" 100
  run sim_calls
  refute_output --regexp '^qm (config|stop|destroy|set|resize|start) 100'
}
