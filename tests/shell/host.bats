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

# A host whose VM storages are a dir storage `data` and/or an iSCSI target `san` (both with
# images content), no local-lvm.
storage_cfg() { # <with data 0|1>
  {
    printf 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,import,vztmpl,backup\n\n'
    printf 'iscsi: san\n\tportal 127.0.0.1\n\ttarget iqn.2003-01.org.linux-iscsi.san:sn.1\n\tcontent images\n\n'
    if (($1)); then printf 'dir: data\n\tpath /srv/data\n\tcontent images,rootdir\n\n'; fi
  } >"$SIM_ROOT/etc/pve/storage.cfg"
}

# pve-storage ISCSIPlugin.pm: `content => [{ images => 1, none => 1 }, ...]` (l.335), yet
# alloc_image dies "can't allocate space in iscsi storage" (l.402-406).
@test "an iscsi storage is listed with images content, and qm create cannot allocate on it" {
  sim_setup "$FAST"
  storage_cfg 0
  run sim_host 'pvesh get /cluster/resources --type storage --output-format json'
  assert_success
  assert_output --regexp '"content":"images","disk":0,"id":"storage/pve/san","maxdisk":0,"node":"pve","plugintype":"iscsi","shared":0,"status":"available"'
  run sim_host 'pvesm status'
  assert_line --regexp '^san +iscsi +active '
  run sim_host "qm create 100 --scsi0 san:0,import-from=$IMAGE_FILE"
  assert_failure 255
  assert_output --partial "unable to create VM 100 - can't allocate space in iscsi storage"
  assert_equal "$(sim_vms)" ''
}

@test "no storage but an iscsi one holds images: STORAGE_NOT_FOUND before anything is created" {
  sim_setup "$FAST"
  storage_cfg 0
  provision --name st01
  assert_line --partial "LINUS_ERROR:no available storage on node 'pve' can hold new VM disks"
  assert_refused_early STORAGE_NOT_FOUND 3
}

@test "--storage naming an iscsi storage: STORAGE_NOT_FOUND saying why, before anything is created" {
  sim_setup "$FAST"
  storage_cfg 1
  provision --name st02 --storage san
  assert_line --partial "LINUS_ERROR:storage 'san' is of type iscsi: Proxmox cannot create new VM disks there"
  assert_refused_early STORAGE_NOT_FOUND 3
}

@test "automatic storage pick passes over the iscsi storage and takes the dir storage" {
  sim_setup "$FAST"
  storage_cfg 1
  provision --name st03
  assert_success
  assert_line --partial 'linus: node pve, storage data'
  run sim_conf 100
  assert_line --regexp '^scsi0: data:100/vm-100-disk-0\.raw,size=8G$'
}

# pve-manager PVE/API2/Network.pm `index` (9.x l.427-453): `--type any_bridge` adds the SDN VNets
# of the node's zones (get_local_vnets); GET .../network/{iface} reads /etc/network/interfaces only.
@test "--bridge naming an SDN VNet passes step 1 and the VM starts on it" {
  # Prepared: the node has no address on a VNet it could probe, so the guest agent finds the address.
  sim_setup '{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500,"agentInstallDelayMs":300,"prepared":true,"sdnVnets":[{"name":"vnet1","zone":"zone1","network":"127.111.7.0/24","gateway":"127.111.7.1"}]}'
  run sim_host 'pvesh get /nodes/pve/network/vnet1 --output-format json'
  assert_failure
  provision --name vn01 --bridge vnet1
  assert_success
  assert_line 'linus: bridge vnet1: vnet'
  run sim_conf 100
  assert_line --regexp '^net0: virtio=[0-9A-F:]{17},bridge=vnet1$'
  # Placement (`linus provision --node auto`, `--count N`) checks the bridge the same way.
  run sim_host "bash $(vm_bundle) place --bridge vnet1 --count 2 --remote-dir $SIM_REMOTE"
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"nodes":\["pve","pve"\]'
}

@test "a bridge the node does not have: BRIDGE_NOT_FOUND; the node's address on a bridge it has is logged" {
  sim_setup "$FAST"
  provision --name br01 --bridge vmbr9
  assert_line "LINUS_ERROR:bridge 'vmbr9' does not exist on node 'pve'"
  assert_refused_early BRIDGE_NOT_FOUND 3
  provision --name br02 --run-id host-run2 --dry-run
  assert_success
  assert_line 'linus: bridge vmbr0: bridge, this node at 127.88.0.2/24'
}

# The simulated host without curl runs this machine's wget (.ci/run installs it).
require_wget() {
  command -v wget >/dev/null 2>&1 && return 0
  [[ -z "${CI:-}" ]] || fail "CI is set but wget is not installed"
  skip "wget is not installed"
}

# pve-manager's debian/control depends on wget (l.103), not on curl (reference §15.12).
@test "a host without curl downloads the checksum file and the image with wget" {
  sim_setup '{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500,"missingTools":["curl"]}'
  require_wget
  sim_image_server
  run sim_host 'command -v curl'
  assert_failure
  run sim_host "bash $BUNDLE run $(printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --name wg01 --image-url "$HTTP_IMAGE_URL" --image-sums-url "$HTTP_SUMS_URL" --timeout 60) 2>&1"
  assert_success
  assert_line "linus: reading checksums from $HTTP_SUMS_URL"
  assert_line "linus: downloading $HTTP_IMAGE_URL with wget"
  assert_line 'LINUS_VM_ID:100'
  local cached
  cached=$(ls "$SIM_REMOTE"/images/sha256.*.img)
  cmp "$cached" "$BATS_TEST_TMPDIR/served/noble/current/noble-server-cloudimg-amd64.img"
}

@test "without curl, a checksum file that is not there is IMAGE_DOWNLOAD_FAILED with wget's reason" {
  sim_setup '{"missingTools":["curl"]}'
  require_wget
  sim_image_server
  run sim_host "bash $BUNDLE run $(printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --name wg02 --image-url "$HTTP_IMAGE_URL" --image-sums-url "$HTTP_BASE_URL/noble/current/MISSING") 2>&1"
  assert_line --regexp "^LINUS_ERROR:cannot download $HTTP_BASE_URL/noble/current/MISSING: .*ERROR 404: Not Found\.\$"
  assert_refused_early IMAGE_DOWNLOAD_FAILED 7
}

@test "neither curl nor wget: MISSING_DEPENDENCY before anything is created" {
  sim_setup '{"missingTools":["curl","wget"]}'
  provision --name wg03
  assert_line "LINUS_ERROR:neither 'curl' nor 'wget' is installed or on PATH: install one ('apt-get install wget')"
  assert_refused_early MISSING_DEPENDENCY 2
  run sim_calls
  assert_output ''
}
