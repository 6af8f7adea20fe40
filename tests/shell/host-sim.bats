#!/usr/bin/env bats
# Step 1 (validate) against the simulated host as a stock Proxmox VE host has it: names that
# /cluster/resources does not show yet, storages that list images but cannot allocate, SDN VNets
# as bridges, and a host without curl. Each refusal comes before anything is created.

load helpers/common
load helpers/sim

FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
RID=host-run1

setup() {
  require_sim
  test_image 2
}

teardown() {
  sim_teardown
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # [more options]
  printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "$@"
}

provision() { # [more options]
  run sim_host "bash $BUNDLE run $(opts "$@") 2>&1"
}

# The failure block with <code> and <exit>, nothing created, and no call that writes (replaces
# $output: check messages first).
assert_refused_early() { # <code> <exit>
  assert_failure "$2"
  assert_line 'LINUS_RESULT:FAILURE'
  assert_line "LINUS_ERROR_CODE:$1"
  assert_no_leftovers "$RID"
  run sim_calls
  refute_output --regexp '^qm (create|set|start|destroy) '
}

# pve-manager API2Tools.pm `extract_vm_stats` (9.x l.81-90): until pvestatd's next RRD broadcast
# (every 10 s, PVE/Service/pvestatd.pm l.884-885) /cluster/resources shows a new VM without a name.
@test "a VM created moments ago by someone else holds its name: NAME_CONFLICT though resources shows no name yet" {
  sim_setup "$FAST"
  sim_qm_create 100 web01
  run sim_host 'pvesh get /cluster/resources --type vm --output-format json'
  assert_success
  refute_output --partial '"name"'
  sim_clear_calls
  provision --name web01
  assert_line --partial "LINUS_ERROR:a VM named 'web01' already exists: VMID 100 on node pve"
  assert_refused_early NAME_CONFLICT 9
  assert_equal "$(sim_vms)" 100
}

@test "two provisions with one name, the second right after the first: the second is NAME_CONFLICT" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts --name twin --run-id host-first)"
  assert_success
  assert_line 'LINUS_VM_ID:100'
  sim_clear_calls
  provision --name twin
  assert_line --partial "LINUS_ERROR:a VM named 'twin' already exists: VMID 100 on node pve"
  assert_refused_early NAME_CONFLICT 9
  assert_equal "$(sim_vms)" 100
}

# The vm operations bundle (dist/provisioners/manifest-vm.json).
vm_bundle() {
  echo "$REPO_ROOT/dist/provisioners/$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{file}' <"$REPO_ROOT/dist/provisioners/manifest-vm.json")"
}

@test "vm list, status, set --name and delete --expect-name see a VM created moments ago by its config's name" {
  sim_setup "$FAST"
  sim_qm_create 100 web01
  sim_qm_create 101 other
  local vm
  vm=$(vm_bundle)
  run sim_host "bash $vm list --remote-dir $SIM_REMOTE"
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"id":100,.*"memoryMiB":512,.*"name":"web01",.*"status":"stopped"'
  run sim_host "bash $vm status 100 --remote-dir $SIM_REMOTE"
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"name":"web01"'
  run sim_host "bash $vm set 101 --name web01 --foreign --remote-dir $SIM_REMOTE"
  assert_failure
  assert_line 'LINUS_ERROR_CODE:NAME_CONFLICT'
  run sim_host "bash $vm delete 100 --yes --foreign --expect-name web01 --remote-dir $SIM_REMOTE"
  assert_success
  assert_equal "$(sim_vms)" 101
}
