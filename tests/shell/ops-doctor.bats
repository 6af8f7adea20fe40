#!/usr/bin/env bats
# `vm.sh doctor` and `vm.sh doctor-fix` against the simulated Proxmox VE host: what the driver's
# tests do not reach (an offline node, a VNet as --bridge, --snippets-storage, a prepared host)
# and the guards of the one change doctor makes.

load helpers/common
load helpers/sim

# Runs `vm.sh <args>` on the simulated node pve; its output stays in OPS_OUT for check_of.
ops() { # <args...>
  run sim_host "$(printf '%q ' bash "$VM_BUNDLE" "$@") --remote-dir $SIM_REMOTE"
  OPS_OUT=$output
}

# The LINUS_DATA object of check <id> in the last ops output, as one line.
check_of() { # <id>
  grep -F "\"id\":\"$1\",\"kind\":\"check\"" <<<"$OPS_OUT"
}

sim_setup_vm() { # [settings JSON]
  sim_setup "${1:-{\}}"
  VM_BUNDLE="$REPO_ROOT/dist/provisioners/$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{file}' <"$REPO_ROOT/dist/provisioners/manifest-vm.json")"
}

@test "an offline node fails node.online with check_cluster's message and skips what depends on it" {
  sim_setup_vm '{"nodes":[{"name":"pve","online":false}]}'
  ops doctor --node pve --storage local-lvm --bridge vmbr0
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  run check_of node.online
  assert_output --partial '"message":"node '"'"'pve'"'"' is offline","status":"fail"'
  for id in node.local storage.images cpu.x86-64-v2 storage.snippets bridge.vmbr0 network.address-discovery; do
    run check_of "$id"
    assert_output --partial '"message":"not checked: no node to check","status":"skip"'
  done
}

@test "a host without setsid (jobs start in a session of their own): tools.host names it and its package" {
  sim_setup_vm '{"missingTools":["setsid"]}'
  ops doctor --node pve --storage local-lvm --bridge vmbr0
  assert_success
  run check_of tools.host
  assert_output --partial '"message":"not on PATH: setsid (is this a Proxmox VE node?)"'
  assert_output --partial '"fix":"apt-get install util-linux"'
  assert_output --partial '"status":"fail"'
}

@test "a VNet as --bridge: bridge.<vnet> passes as it does in the provisioner's own step 1" {
  sim_setup_vm '{"sdnVnets":[{"name":"vnet1","zone":"zone1","network":"$SIM_NET.200.0/24"}]}'
  run sim_host "$(printf '%q ' bash "$BUNDLE" run --dry-run --remote-dir "$SIM_REMOTE" --node pve --storage local-lvm --bridge vnet1 \
    --name dry --ssh-key-b64 "$TEST_KEY_B64" --image-url http://127.0.0.1:9/none.img --image-sha256 "$(printf '0%.0s' {1..64})")"
  assert_line 'linus: bridge vnet1: vnet'
  refute_line 'LINUS_ERROR_CODE:BRIDGE_NOT_FOUND'
  ops doctor --node pve --storage local-lvm --bridge vnet1
  assert_success
  run check_of bridge.vnet1
  assert_output --partial '"status":"ok"'
  ops doctor --node pve --storage local-lvm --bridge vmbr0
  run check_of bridge.vnet1
  assert_output --partial '"message":"vnet","status":"ok"'
}

@test "on a prepared host storage.snippets passes and no fix is offered" {
  sim_setup_vm '{"prepared":true}'
  ops doctor --node pve --storage local-lvm --bridge vmbr0 --vlan 43
  assert_success
  run check_of storage.snippets
  assert_output --partial '"status":"ok"'
  run grep -c '"kind":"fix"' <<<"$OPS_OUT"
  assert_output 0
  run check_of network.address-discovery
  assert_output --partial 'from the guest agent that vendor-data on local installs'
}

@test "--snippets-storage naming a storage without snippets fails as provision would, with the fix for that storage" {
  sim_setup_vm
  ops doctor --node pve --storage local-lvm --bridge vmbr0 --snippets-storage local
  run check_of storage.snippets
  assert_output --partial "storage 'local' holds no snippets on node 'pve'"
  assert_output --partial '"fix":"pvesm set local --content iso,import,vztmpl,backup,snippets"'
  assert_output --partial '"status":"fail"'
}

@test "doctor-fix adds only snippets: a changed content list and a storage that cannot hold snippets are refused, a second run changes nothing" {
  sim_setup_vm
  local cfg
  cfg=$(<"$SIM_ROOT/etc/pve/storage.cfg")
  ops doctor-fix local --content iso,snippets
  assert_failure 27
  assert_line "LINUS_ERROR:storage 'local' now holds 'iso,import,vztmpl,backup', so 'iso,snippets' would change more than adding snippets: run linus doctor again"
  ops doctor-fix local-lvm --content rootdir,images,snippets
  assert_failure 3
  assert_line "LINUS_ERROR:storage 'local-lvm' (lvmthin) cannot hold snippets"
  assert_equal "$(<"$SIM_ROOT/etc/pve/storage.cfg")" "$cfg"
  ops doctor-fix local --content iso,import,vztmpl,backup,snippets
  assert_success
  assert_line 'LINUS_DATA:{"changed":true,"content":"iso,import,vztmpl,backup,snippets","op":"doctor-fix","storage":"local"}'
  assert_line --partial 'call: pvesm set local --content iso,import,vztmpl,backup,snippets --digest '
  ops doctor-fix local --content iso,import,vztmpl,backup,snippets
  assert_line 'LINUS_DATA:{"changed":false,"content":"iso,import,vztmpl,backup,snippets","op":"doctor-fix","storage":"local"}'
  refute_line --partial 'call: pvesm set'
}

# The simulated node's CPU has every flag, so the other answers come from a recorded
# /nodes/<node>/status reply through the one Proxmox door, pve() (nvm-style seam override).
cpu_check_with_flags() { # <cpuinfo flags>
  run bash -c '
    source "$1"
    WORK_DIR=$(mktemp -d)
    pve() { PVE_OUT="{\"cpuinfo\":{\"flags\":\"$FLAGS\",\"model\":\"x\"}}" PVE_ERR="" PVE_RC=0; }
    SPEC[node]=pve
    _doctor_cpu
    cat "$WORK_DIR/doctor.data"; rm -rf "$WORK_DIR"' _ "$REPO_ROOT/shell/ops/vm.sh"
}

@test "cpu.x86-64-v2 fails where the node's CPU lacks aes or an x86-64-v2 flag (qemu-server enforces the model's flags)" {
  FLAGS="fpu sse sse2 pni ssse3 sse4_1 sse4_2 popcnt aes" cpu_check_with_flags
  assert_output --partial '"status":"ok"'
  FLAGS="fpu sse sse2 pni ssse3 sse4_1 sse4_2 popcnt" cpu_check_with_flags
  assert_output --partial '"fix":"provision with --cpu x86-64-v2","id":"cpu.x86-64-v2","kind":"check","message":"the CPU of node pve has x86-64-v2 but no aes'
  assert_output --partial '"status":"fail"'
  FLAGS="fpu sse sse2 pni aes" cpu_check_with_flags
  assert_output --partial '"message":"the CPU of node pve lacks popcnt sse4_1 sse4_2 ssse3: no x86-64-v2 CPU type'
  assert_output --partial '"fix":"provision with --cpu kvm64 (ubuntu and debian only)"'
}
