#!/usr/bin/env bats
# shell/lib/host.sh: step 1 (validate) on the simulated host: tools, the Proxmox VE version, node,
# storage, capacity, name and bridge. As a stock host has them: names that /cluster/resources
# does not show yet, storages that list images but cannot allocate, SDN VNets as bridges, and a
# host without curl. Each refusal comes before anything is created (too little room reported, an
# offline node too).

load helpers/common
load helpers/sim

RID=host-run1

setup() {
  require_sim
  test_image 2
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # [more options]
  printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "$@"
}

provision() { # [more options]
  run sim_host "bash $BUNDLE run $(opts "$@") 2>&1"
}

# The provisioner's sources asked for VM web01 (2 cores, 2048 MiB, 8 GiB) with a fresh run id:
# several runs in one test.
provision_web01() { # [more options]
  run sim_host "bash $ENTRY run $(printf '%q ' --remote-dir "$SIM_REMOTE" --name web01 --cores 2 --memory 2048 --disk 8 \
    --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 "$@")"
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
  sim_setup '{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500,"agentInstallDelayMs":300,"prepared":true,"sdnVnets":[{"name":"vnet1","zone":"zone1","network":"$SIM_NET.200.0/24","gateway":"$SIM_NET.200.1"}]}'
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
  assert_line "linus: bridge vmbr0: bridge, this node at $SIM_NET.0.2/24"
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

@test "a storage that does not exist and a disabled one (not in /cluster/resources) are told apart" {
  sim_setup "$PREPARED"
  provision_web01 --storage nosuch
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:STORAGE_NOT_FOUND'
  assert_line "LINUS_ERROR:storage 'nosuch' does not exist"
  printf '\nzfspool: tank\n\tpool rpool/data\n\tcontent images\n\tdisable\n' >>"$SIM_ROOT/etc/pve/storage.cfg"
  # pve-manager API2/Cluster.pm (9.x l.652) lists only storages enabled on the node.
  run sim_host 'pvesh get /cluster/resources --type storage --output-format json'
  refute_output --partial '"storage":"tank"'
  provision_web01 --storage tank
  assert_failure 3
  assert_line "LINUS_ERROR:storage 'tank' is disabled or not available on node 'pve'"
}

@test "a storage without images content, or too small, is refused" {
  sim_setup "$PREPARED"
  provision_web01 --storage local
  assert_failure 3
  assert_line --partial "does not hold VM images"
  provision_web01 --disk 60000
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:INSUFFICIENT_STORAGE'
  provision_web01 --memory 100000
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:INSUFFICIENT_MEMORY'
}

@test "past 90 % of the node memory is CAPACITY_EXCEEDED before anything is made; past 80 % a warning" {
  # The simulated node uses 2 GiB itself (src/sim/tools/pvesh-nodes.ts memoryUsed): with the
  # VM's 2 GiB that is 92.2 % of this node.
  sim_setup "$(perl -MJSON::PP -e 'my $s = decode_json($ARGV[0]); $s->{nodes} = [{ name => "pve", memoryBytes => int(4 * 1024 ** 3 * 1000 / 922) }];
    print encode_json($s)' "$PREPARED")"
  provision_web01
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:CAPACITY_EXCEEDED'
  assert_line "LINUS_ERROR:VM 'web01' on node pve: the memory of node 'pve' would be 92.2 % used (over 90 %); pass --force to go ahead anyway"
  refute_line --partial 'call: qm create'
  assert_equal "$(sim_vms)" ''
  provision_web01 --capacity force
  assert_success
  assert_line "LINUS_WARNING:VM 'web01' on node pve: the memory of node 'pve' will be 92.2 % used (over 90 %, --force)"
}

@test "past 80 % of the storage is a warning; the driver's placement can take the check over" {
  sim_setup "$PREPARED"
  # 500 GiB pool: 395 GiB of another VM's disks + 8 GiB is 80.6 %.
  sim_qm_create 150 big '' --scsi1 local-lvm:394
  provision_web01
  assert_success
  assert_line "LINUS_WARNING:VM 'web01' on node pve: the storage 'local-lvm' will be 80.6 % used (over 80 %)"
  provision_web01 --name web02 --capacity placed
  assert_success
  refute_line --partial 'LINUS_WARNING'
  provision_web01 --capacity maybe
  assert_failure 1
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
}

@test "a job given its placement's facts reads neither the version, /cluster/resources nor the bridges; others' facts are refused" {
  sim_setup "$FAST"
  sim_qm_create 100 other
  ops place --node pve --storage local-lvm --count 2 --names 'web0{n}'
  assert_success
  local facts
  facts=$(sed -n 's/^LINUS_DATA:.*"facts":"\([^"]*\)".*/\1/p' <<<"$output")
  [[ "$facts" =~ ^node=pve\;storage=local-lvm\;pve=8\.[0-9]+\;storage_type=lvmthin\;snippets=\;snippets_all=\;bridge_type=bridge\;bridge_cidr=127\.[0-9.]+/[0-9]+\;free_ids=101,102,103(,[0-9]+){9}\;seen=[0-9]+$ ]] ||
    fail "place gave the facts: $facts"
  sim_clear_calls
  provision_web01 --name web01 --node pve --storage local-lvm --capacity placed --placed-facts "$facts"
  assert_success
  assert_line --partial '(as this run'"'"'s placement read them)'
  assert_line 'LINUS_VM_ID:101'
  run sim_calls
  refute_line --regexp '^(pveversion|pvesh get /cluster/resources|pvesh get /nodes/pve/network)'
  assert_line --regexp '^qm create 101 --name web01 '
  # The next job of the run, from the same facts, moves past the ID the first one took.
  provision_web01 --name web02 --node pve --storage local-lvm --capacity placed --placed-facts "$facts"
  assert_success
  assert_line 'LINUS_VM_ID:102'
  sim_clear_calls
  provision_web01 --name web03 --node pve --storage local-lvm --capacity placed --placed-facts "${facts/node=pve;/node=pve2;}"
  assert_failure 1
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
  provision_web01 --name web03 --node pve --storage local --capacity placed --placed-facts "$facts"
  assert_failure 1
  assert_line "LINUS_ERROR:--placed-facts are for storage 'local-lvm' on node 'pve', not 'local' on 'pve'"
  provision_web01 --name web03 --node pve --storage local-lvm --placed-facts "$facts"
  assert_failure 1
  assert_line 'LINUS_ERROR:--placed-facts needs --capacity placed'
  assert_equal "$(sim_calls)" ''
}

@test "a missing bridge, an unknown node and an offline node fail with their codes" {
  sim_setup "$PREPARED"
  provision_web01 --bridge vmbr9
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:BRIDGE_NOT_FOUND'
  provision_web01 --bridge eth0
  assert_failure 3
  assert_line "LINUS_ERROR:bridge 'eth0' does not exist on node 'pve'"
  provision_web01 --node pve2
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:NODE_NOT_FOUND'
  sim_faults '{"offlineNodes":["pve"]}'
  provision_web01
  assert_failure 4
  assert_line 'LINUS_ERROR_CODE:NODE_OFFLINE'
  assert_equal "$(sim_vms)" ''
}

# The simulator models the supported releases only (src/sim/settings.ts VERSION_PROFILES): a 7.4
# answer comes from pve() replaced in the run itself, which fails on any other Proxmox call.
@test "an old PVE fails with UNSUPPORTED_PVE before any other Proxmox call" {
  sim_setup "$PREPARED"
  run sim_host "$(printf '%q ' bash -c '
    source "$1"
    shift
    WORK_DIR=$(mktemp -d)
    trap on_exit EXIT
    pve() {
      log "call: $*"
      [[ "$1" == pveversion ]] || die INTERNAL "unexpected call: $*"
      PVE_OUT="pve-manager/7.4.3/9002ab8a (running kernel: 5.15.107-2-pve)" PVE_ERR="" PVE_RC=0
    }
    parse_spec "$@"
    validate_spec
    provision 0' _ "$ENTRY" --remote-dir "$SIM_REMOTE" --name web01 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA")"
  assert_failure 2
  assert_line 'LINUS_ERROR_CODE:UNSUPPORTED_PVE'
  assert_line 'LINUS_ERROR:Proxmox VE 7.4 is not supported'
  assert_equal "$(call_count "$output")" 1
  assert_equal "$(sim_vms)" ''
}

@test "--node naming another node of the cluster than this host is VM_ON_OTHER_NODE: qm would create it here" {
  sim_setup "$(perl -MJSON::PP -e 'my $s = decode_json($ARGV[0]); $s->{nodes} = [{ name => "pve" }, { name => "pve2" }]; print encode_json($s)' "$PREPARED")"
  # A host name with its domain (`uname -n` prints what /etc/hostname holds): the node is its first label.
  mkdir -p "$BATS_TEST_TMPDIR/fqdn"
  printf '#!/bin/sh\n[ "$1" = -n ] && echo pve.example.lan && exit 0\nexec /bin/uname "$@"\n' >"$BATS_TEST_TMPDIR/fqdn/uname"
  chmod +x "$BATS_TEST_TMPDIR/fqdn/uname"
  local path="PATH=$BATS_TEST_TMPDIR/fqdn:\$PATH"
  run sim_host "$path bash $ENTRY run $(printf '%q ' --remote-dir "$SIM_REMOTE" --name web01 --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 --node pve2)"
  assert_failure 17
  assert_line 'LINUS_ERROR_CODE:VM_ON_OTHER_NODE'
  assert_line "LINUS_ERROR:this host is node 'pve', not 'pve2': qm creates VMs only on the node it runs on"
  refute_line --partial 'call: qm create'
  run sim_host "$path bash $ENTRY run $(printf '%q ' --remote-dir "$SIM_REMOTE" --name web01 --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 --node pve)"
  assert_success
  assert_line 'LINUS_VM_NODE:pve'
}

@test "a missing tool is MISSING_DEPENDENCY" {
  sim_setup "$PREPARED"
  rm "$SIM_ROOT/bin/pvesm"
  provision_web01
  assert_failure 2
  assert_line 'LINUS_ERROR_CODE:MISSING_DEPENDENCY'
  assert_line --partial "'pvesm'"
}

# The faults of src/sim/faults.ts that end here: each run fails with its code and leaves nothing
# behind (assert_failed_clean), or succeeds where the provisioner has a way around it.

@test "a storage that reports too little room: INSUFFICIENT_STORAGE before any write" {
  sim_setup '{"storageCapacity":{"local":107374182400,"local-lvm":4294967296}}'
  sim_provision
  assert_failed_clean INSUFFICIENT_STORAGE 10
  run sim_calls
  refute_output --regexp '^qm '
}

@test "offlineNodes: NODE_OFFLINE before any write" {
  sim_setup "$FAST"
  sim_faults '{"offlineNodes":["pve"]}'
  sim_provision
  assert_failed_clean NODE_OFFLINE 4
  run sim_calls
  refute_output --regexp '^qm '
}
