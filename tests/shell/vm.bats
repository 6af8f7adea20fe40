#!/usr/bin/env bats
# shell/lib/vm.sh on the simulated host: ID claims, resize verification and rollback, each on its
# own against the host's state.

load helpers/common
load helpers/sim

# A host prepared for linus whose guests boot and start their agent at once: the shortest runs.
PREPARED='{"prepared":true,"bootDelayMs":0,"agentInstallDelayMs":0,"agentPingTimeoutMs":300,"lockTimeoutMs":1500}'

setup() {
  require_sim
  test_image 2
}

teardown() {
  sim_teardown
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # [more options]
  printf '%q ' --remote-dir "$SIM_REMOTE" --name web01 --cores 2 --memory 2048 --disk 8 \
    --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 "$@"
}

# A script on the simulated host that prepares request mine-001 (steps 1-3 up to the create
# arguments) and then runs $1.
with_request() { # <bash code>
  local job="$SIM_REMOTE/jobs/mine-001"
  sim_lib_run "parse_spec $(opts --run-id mine-001); validate_spec
    check_cluster; image_resolve; image_fetch; mkdir -p '$job'
    prepare_cloudinit '$job' 0; build_create_args '$job' 1.0.0; $1"
}

# With nextid reading a stale VM list (faults.ts nextidStaleVmids), both the first candidate and
# the next one are VMs that exist: each `qm create` fails with `VM <id> already exists`.
@test "an ID taken between nextid and create moves the claim to the next ID; the winner is untouched" {
  sim_setup "$PREPARED"
  sim_qm_create 100 foreign-100 other
  sim_qm_create 101 foreign-101 other
  local before100 before101
  before100=$(sim_conf 100)
  before101=$(sim_conf 101)
  sim_faults '{"nextidStaleVmids":[]}'
  run sim_host "bash $ENTRY run $(opts)"
  assert_success
  assert_line --partial 'VM ID 100 is taken; trying 101'
  assert_line --partial 'VM ID 101 is taken; trying 102'
  assert_line 'LINUS_VM_ID:102'
  assert_equal "$(sim_conf 100)" "$before100"
  assert_equal "$(sim_conf 101)" "$before101"
}

# nextid's first answer, 100, is set as a stale read gives it; every later candidate is checked
# on the host with `nextid --vmid`, which sees VMs 100-109.
@test "claims are bounded: ten taken IDs in a row is ID_CLAIM_EXHAUSTED" {
  sim_setup "$PREPARED" 10
  with_request 'NEXT_ID=100 NEXT_ID_SEEN=$(date +%s); create_vm'
  assert_failure 5
  assert_output --partial 'error [ID_CLAIM_EXHAUSTED]: VM IDs 100 to 109 were all taken'
  assert_equal "$(grep -c 'call: qm create' <<<"$output")" 1
  assert_equal "$(grep -c 'call: pvesh get /cluster/nextid --vmid' <<<"$output")" 9
  assert_equal "$(sim_vms | wc -l)" 10
}

@test "a resize that fails silently (exit 0) is caught from the config: RESIZE_FAILED" {
  sim_setup "$PREPARED"
  sim_faults '{"resizeFail":true}'
  run sim_host "bash $ENTRY run $(opts)"
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
  with_request 'next_vm_id; create_vm; START_TRIED=1; pve qm start 100; rollback; echo "msg=$FAIL_MSG"'
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
