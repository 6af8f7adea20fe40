#!/usr/bin/env bats
# ID claims, resize verification and rollback, each on its own against the fake host's state.

load helpers/common

setup() {
  fake_host
  ssh_listener "$GUEST_IP"
  mapfile -t OPTS < <(std_opts)
}

teardown() {
  stop_listener
}

# A script that prepares a request against the fake host and then runs $1.
with_request() { # <bash code>
  lib_run "parse_spec $(printf '%q ' "${OPTS[@]}") --run-id mine-001; validate_spec
    check_cluster; image_resolve; image_fetch; mkdir -p '$REMOTE/jobs/mine-001'
    prepare_cloudinit '$REMOTE/jobs/mine-001' 0; build_create_args '$REMOTE/jobs/mine-001' 1.0.0; $1"
}

@test "an ID taken between nextid and create moves the claim to the next ID; the winner is untouched" {
  echo 100 >"$PVE_STUB_STATE/nextid"
  touch "$PVE_STUB_STATE/race/100" "$PVE_STUB_STATE/race/101"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_success
  assert_line --partial 'VM ID 100 is taken; trying 101'
  assert_line --partial 'VM ID 101 is taken; trying 102'
  assert_line 'LINUS_VM_ID:102'
  assert grep -qx 'name: foreign-100' "$PVE_STUB_STATE/vms/100.conf"
  assert grep -qx 'name: foreign-101' "$PVE_STUB_STATE/vms/101.conf"
}

@test "claims are bounded: ten taken IDs in a row is ID_CLAIM_EXHAUSTED" {
  echo 100 >"$PVE_STUB_STATE/nextid"
  local id
  for ((id = 100; id < 110; id++)); do printf 'name: busy%s\n' "$id" >"$PVE_STUB_STATE/vms/$id.conf"; done
  with_request 'next_vm_id; create_vm'
  assert_failure 5
  assert_output --partial 'error [ID_CLAIM_EXHAUSTED]: VM IDs 100 to 109 were all taken'
  # 100 came from nextid; each later ID is checked with nextid --vmid before a qm create is tried.
  assert_equal "$(grep -c 'call: qm create' <<<"$output")" 1
  assert_equal "$(grep -c 'call: pvesh get /cluster/nextid --vmid' <<<"$output")" 9
}

@test "a resize that fails silently (exit 0) is caught from the config: RESIZE_FAILED" {
  echo 'shrinking disks is not supported' >"$PVE_STUB_STATE/fault_resize"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:RESIZE_FAILED'
  assert_line 'LINUS_ERROR:disk of VM 100 is 2G, not 8G: shrinking disks is not supported'
  assert_equal "$(fake_vms)" ''
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
  with_request 'next_vm_id; create_vm; START_TRIED=1; pve qm start 100; rollback; echo "msg=$FAIL_MSG"'
  assert_success
  assert_output --partial 'call: qm stop 100'
  assert_output --partial 'call: qm destroy 100 --purge 1'
  assert_line 'msg='
  assert_equal "$(fake_vms)" ''
}

@test "rollback never touches a VM without our run tag, and is idempotent" {
  printf 'name: theirs\ntags: linus;linus-other-run\n' >"$PVE_STUB_STATE/vms/100.conf"
  with_request 'CLAIM_ID=100; rollback; rollback'
  assert_success
  assert_output --partial 'VM 100 is not tagged linus-mine-001; leaving it alone'
  assert_equal "$(grep -c 'call: qm' <<<"$output")" 1
  assert_equal "$(fake_vms)" 100
}

# Proxmox lowercases and sorts tags on `qm set` (and keeps them as given on `qm create`, or with
# datacenter.cfg tag-style case-sensitive=1): the run tag counts in any case, order and separator.
@test "rollback knows its run tag in any case, order and separator; a near miss is foreign" {
  printf 'name: theirs\ntags: Linus;LINUS-MINE-0012 linus-mine-00\n' >"$PVE_STUB_STATE/vms/101.conf"
  printf 'name: mine\ntags: web LINUS-Mine-001,Linus\n' >"$PVE_STUB_STATE/vms/100.conf"
  with_request 'CLAIM_ID=101; rollback; CLAIM_ID=100; rollback'
  assert_success
  assert_output --partial 'VM 101 is not tagged linus-mine-001; leaving it alone'
  assert_output --partial 'call: qm destroy 100 --purge 1'
  assert_equal "$(fake_vms)" 101
}

@test "rollback of a claim whose create failed finds nothing to remove" {
  with_request 'CLAIM_ID=105; rollback'
  assert_success
  assert_output --partial 'VM 105 does not exist; nothing to remove'
}

@test "a rollback that cannot destroy says so in the failure message" {
  printf 'name: mine\ntags: linus;linus-mine-001\n' >"$PVE_STUB_STATE/vms/100.conf"
  echo running >"$PVE_STUB_STATE/vms/100.status"
  with_request 'FAIL_MSG=boom; CLAIM_ID=100; rollback; echo "msg=$FAIL_MSG"'
  assert_line --partial "msg=boom (rollback: VM 100 was not removed (VM 100 is running - destroy failed)"
  assert_equal "$(fake_vms)" 100
}
