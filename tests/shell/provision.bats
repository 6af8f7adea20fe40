#!/usr/bin/env bats
# Whole runs of the provisioner (sources) against the fake host: effects on the host, the
# protocol output, exit codes, and the number of Proxmox calls.

load helpers/common

setup() {
  fake_host
  ssh_listener "$GUEST_IP"
  mapfile -t OPTS < <(std_opts)
}

teardown() {
  stop_listener
}

@test "a run provisions the VM the request describes and reports it" {
  run bash "$ENTRY" run "${OPTS[@]}" --vlan 42 --dns "1.1.1.1 8.8.8.8" --search-domain example.com
  assert_success
  assert_line --index 0 'LINUS_PROTOCOL:1'
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line 'LINUS_VM_ID:100'
  assert_line "LINUS_VM_IP:$GUEST_IP"
  assert_line 'LINUS_VM_USER:ubuntu'
  assert_line 'LINUS_VM_NAME:web01'
  assert_line 'LINUS_VM_OS:ubuntu-24.04'
  assert_line 'LINUS_VM_CPU:2'
  assert_line 'LINUS_VM_RAM:2048'
  assert_line 'LINUS_VM_DISK:8'
  assert_line 'LINUS_VM_NODE:pve'
  assert_equal "${lines[-1]}" 'LINUS_END'
  refute_line --partial 'LINUS_VM_PASSWORD'
  local conf="$PVE_STUB_STATE/vms/100.conf" run_id
  run_id=$(sed -n 's/^LINUS_RUN_ID://p' <<<"$output")
  run grep -E '^(cores|memory|ciuser|ipconfig0|nameserver|searchdomain|tags|agent|boot): ' "$conf"
  assert_output "agent: enabled=1
boot: order=scsi0
ciuser: ubuntu
cores: 2
ipconfig0: ip=dhcp
memory: 2048
nameserver: 1.1.1.1 8.8.8.8
searchdomain: example.com
tags: linus;linus-$run_id"
  assert grep -qE '^net0: virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,tag=42$' "$conf"
  assert grep -qE '^scsi0: local-lvm:vm-100-disk-0,size=8G$' "$conf"
  assert grep -q '^sshkeys: ssh-ed25519%20AAAA' "$conf"
  assert_equal "$(cat "$PVE_STUB_STATE/vms/100.status")" running
}

@test "every output line is whole; protocol lines are short and survive ssh-mcp redaction" {
  run bash "$ENTRY" run "${OPTS[@]}" --password
  assert_success
  local line
  for line in "${lines[@]}"; do
    [[ "$line" == LINUS_* || "$line" == linus:* ]] || fail "stray line: $line"
    if [[ "$line" == LINUS_STEP:* ]]; then ((${#line} < 200)) || fail "long step line: $line"; fi
  done
  # ssh-mcp redacts [A-Za-z0-9+/=_-]{20,} runs with Shannon entropy > 4.5 (LINUS_PLAN and human
  # lines carry host paths and may lose a token; the lines the driver needs must not).
  run perl -ne 'next if /^(linus:|LINUS_PLAN:)/; while (/([A-Za-z0-9+\/=_-]{20,})/g) { my $t = $1; my %f; $f{$_}++ for split //, $t; my $h = 0;
      for (values %f) { my $p = $_ / length $t; $h -= $p * log($p) / log(2) } print "$t\n" if $h > 4.5 }' <<<"$output"
  assert_output ''
}

@test "a successful provision makes 7 Proxmox calls, the snippets path once, plus agent polls" {
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_success
  assert_equal "$(call_count "$output")" 9
  assert_equal "$(grep -c '^linus: call: pvesm path' <<<"$output")" 1
  assert_equal "$(grep -c '^linus: call: qm guest cmd' <<<"$output")" 1
}

@test "300 existing VMs do not add a single Proxmox call" {
  local id
  for ((id = 100; id < 400; id++)); do
    printf 'name: old%s\ntags: other\n' "$id" >"$PVE_STUB_STATE/vms/$id.conf"
  done
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_success
  assert_line 'LINUS_VM_ID:400'
  assert_equal "$(call_count "$output")" 9
}

@test "a name already in use fails with NAME_CONFLICT naming its VMID, before anything is made" {
  printf 'name: web01\n' >"$PVE_STUB_STATE/vms/123.conf"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 9
  assert_line 'LINUS_ERROR_CODE:NAME_CONFLICT'
  assert_line --partial 'VMID 123'
  assert_line 'LINUS_EXIT:9'
  assert_equal "$(fake_vms)" 123
  refute_line --partial 'call: qm create'
}

@test "a storage that does not exist and one not on the node are told apart" {
  run bash "$ENTRY" run "${OPTS[@]}" --storage nosuch
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:STORAGE_NOT_FOUND'
  assert_line "LINUS_ERROR:storage 'nosuch' does not exist"
  echo '{"content":"images","disable":1,"storage":"tank","type":"zfspool"}' >"$PVE_STUB_STATE/storage/tank.json"
  run bash "$ENTRY" run "${OPTS[@]}" --storage tank
  assert_failure 3
  assert_line "LINUS_ERROR:storage 'tank' is disabled or not available on node 'pve'"
}

@test "a storage without images content, or too small, is refused" {
  run bash "$ENTRY" run "${OPTS[@]}" --storage local
  assert_failure 3
  assert_line --partial "does not hold VM images"
  run bash "$ENTRY" run "${OPTS[@]}" --disk 60000
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:INSUFFICIENT_STORAGE'
  run bash "$ENTRY" run "${OPTS[@]}" --memory 100000
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:INSUFFICIENT_MEMORY'
}

@test "past 90 % of the node memory is CAPACITY_EXCEEDED before anything is made; past 80 % a warning" {
  local gib=$((1024 ** 3))
  # 64 GiB node: 57 GiB in use + 2 GiB for the VM is 92.2 %.
  sed -i "s/\"mem\":$((8 * gib))/\"mem\":$((57 * gib))/" "$PVE_STUB_STATE/resources.json"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:CAPACITY_EXCEEDED'
  assert_line "LINUS_ERROR:VM 'web01' on node pve: the memory of node 'pve' would be 92.2 % used (over 90 %); pass --force to go ahead anyway"
  refute_line --partial 'call: qm create'
  assert_equal "$(fake_vms)" ''
  run bash "$ENTRY" run "${OPTS[@]}" --capacity force
  assert_success
  assert_line "LINUS_WARNING:VM 'web01' on node pve: the memory of node 'pve' will be 92.2 % used (over 90 %, --force)"
}

@test "past 80 % of the storage is a warning; the driver's placement can take the check over" {
  local gib=$((1024 ** 3))
  # 500 GiB pool: 395 GiB used + 8 GiB is 80.6 %.
  sed -i "s/\"disk\":$((10 * gib)),\"maxdisk\":$((500 * gib))/\"disk\":$((395 * gib)),\"maxdisk\":$((500 * gib))/" "$PVE_STUB_STATE/resources.json"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_success
  assert_line "LINUS_WARNING:VM 'web01' on node pve: the storage 'local-lvm' will be 80.6 % used (over 80 %)"
  run bash "$ENTRY" run "${OPTS[@]}" --name web02 --capacity placed
  assert_success
  refute_line --partial 'LINUS_WARNING'
  invalid_capacity=$(bash "$ENTRY" run "${OPTS[@]}" --capacity maybe || true)
  assert_equal "$(grep '^LINUS_ERROR_CODE' <<<"$invalid_capacity")" 'LINUS_ERROR_CODE:INVALID_SPEC'
}

@test "a missing bridge, an unknown node, an offline node and an old PVE fail with their codes" {
  run bash "$ENTRY" run "${OPTS[@]}" --bridge vmbr9
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:BRIDGE_NOT_FOUND'
  run bash "$ENTRY" run "${OPTS[@]}" --bridge eth0
  assert_failure 3
  assert_line "LINUS_ERROR:bridge 'eth0' does not exist on node 'pve'"
  run bash "$ENTRY" run "${OPTS[@]}" --node pve2
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:NODE_NOT_FOUND'
  sed -i 's/"status":"online"/"status":"offline"/' "$PVE_STUB_STATE/resources.json"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 4
  assert_line 'LINUS_ERROR_CODE:NODE_OFFLINE'
  echo 'pve-manager/7.4.3/9002ab8a (running kernel: 5.15.107-2-pve)' >"$PVE_STUB_STATE/pveversion"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 2
  assert_line 'LINUS_ERROR_CODE:UNSUPPORTED_PVE'
  assert_equal "$(fake_vms)" ''
}

@test "--node naming another node of the cluster than this host is VM_ON_OTHER_NODE: qm would create it here" {
  perl -0pi -e 's/^\[/[{"id":"node\/pve2","node":"pve2","type":"node","status":"online","maxmem":68719476736,"mem":0,"maxcpu":16},\n {"id":"storage\/pve2\/local-lvm","storage":"local-lvm","node":"pve2","type":"storage","plugintype":"lvmthin","status":"available","content":"images","disk":0,"maxdisk":536870912000,"shared":0},\n /' "$PVE_STUB_STATE/resources.json"
  printf '#!/bin/sh\n[ "$1" = -n ] && echo pve.example.lan && exit 0\nexec /bin/uname "$@"\n' >"$STUB_BIN/uname"
  chmod +x "$STUB_BIN/uname"
  run bash "$ENTRY" run "${OPTS[@]}" --node pve2
  assert_failure 17
  assert_line 'LINUS_ERROR_CODE:VM_ON_OTHER_NODE'
  assert_line "LINUS_ERROR:this host is node 'pve', not 'pve2': qm creates VMs only on the node it runs on"
  assert_line 'LINUS_ERROR_NODE:pve2'
  refute_line --partial 'call: qm create'
  run bash "$ENTRY" run "${OPTS[@]}" --node pve
  assert_success
  assert_line 'LINUS_VM_NODE:pve'
}

@test "a missing tool is MISSING_DEPENDENCY" {
  rm "$STUB_BIN/pvesm"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 2
  assert_line 'LINUS_ERROR_CODE:MISSING_DEPENDENCY'
  assert_line --partial "'pvesm'"
}

@test "a disk smaller than the image is INVALID_SPEC before anything is created" {
  test_image 10
  run bash "$ENTRY" run --remote-dir "$REMOTE" --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --disk 8
  assert_failure 1
  assert_line --partial 'smaller than the image (10 GiB'
  refute_line --partial 'call: qm create'
  assert_equal "$(fake_vms)" ''
}

@test "a failed start rolls the VM back and reports START_FAILED" {
  echo 'start failed: QEMU exited with code 1' >"$PVE_STUB_STATE/fault_start"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:START_FAILED'
  assert_line 'LINUS_ERROR:qm start 100 failed: start failed: QEMU exited with code 1'
  assert_line --partial 'rollback: VM 100 and its volumes removed'
  assert_equal "$(fake_vms)" ''
}

@test "a failed create reports CREATE_FAILED with the Proxmox message and leaves nothing" {
  echo "unable to create VM 100 - storage 'local-lvm' does not exist" >"$PVE_STUB_STATE/fault_create"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:CREATE_FAILED'
  assert_line --partial "storage 'local-lvm' does not exist"
  assert_equal "$(fake_vms)" ''
}

@test "no address within --timeout is IP_TIMEOUT, and the VM is removed" {
  rm "$PVE_STUB_STATE/agent.json"
  run bash "$ENTRY" run "${OPTS[@]/10/2}"
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:IP_TIMEOUT'
  assert_equal "$(fake_vms)" ''
}

@test "no SSH banner within --timeout is SSH_TIMEOUT, and the VM is removed" {
  stop_listener
  run bash "$ENTRY" run "${OPTS[@]/10/2}"
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:SSH_TIMEOUT'
  assert_equal "$(fake_vms)" ''
}

@test "a static address needs no agent and is reported as configured" {
  rm "$PVE_STUB_STATE/agent.json"
  # Nothing may answer there before the VM runs (IP_IN_USE otherwise): the guest's sshd comes with it.
  local port=$SSH_PORT
  stop_listener
  (
    while ! grep -qs running "$PVE_STUB_STATE"/vms/*.status; do sleep 0.2; done
    exec perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => $ARGV[1], Listen => 5, ReuseAddr => 1) or die;
      while (my $c = $s->accept) { print $c "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"; close $c }' "$GUEST_IP" "$port"
  ) 3>&- &
  SSH_LISTENER_PID=$!
  run bash "$ENTRY" run "${OPTS[@]}" --ip "$GUEST_IP/24" --gateway 127.77.0.1
  assert_success
  assert_line "LINUS_VM_IP:$GUEST_IP"
  refute_line --partial 'call: qm guest cmd'
  assert grep -qx "ipconfig0: ip=$GUEST_IP/24,gw=127.77.0.1" "$PVE_STUB_STATE/vms/100.conf"
}

@test "--password returns a password once, stores only its SHA-256 crypt hash, never logs it" {
  run bash "$ENTRY" run "${OPTS[@]}" --password
  assert_success
  local pw
  pw=$(sed -n 's/^LINUS_VM_PASSWORD://p' <<<"$output")
  [[ "$pw" =~ ^[A-Za-z0-9]{5}(\.[A-Za-z0-9]{5}){3}$ ]] || fail "password format: $pw"
  assert_equal "$(grep -c "$pw" <<<"$output")" 1
  local hash
  hash=$(sed -n 's/^cipassword: //p' "$PVE_STUB_STATE/vms/100.conf")
  [[ "$hash" == '$5$'* ]] || fail "not a sha256-crypt hash: $hash"
  assert_equal "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' "$pw" "$hash")" "$hash"
  refute grep -rq "$pw" "$REMOTE/jobs"
}

@test "a snippets storage gets the guest-agent vendor-data once, then the cached path is reused" {
  sed -i 's/"content":"iso,vztmpl,backup"/"content":"iso,vztmpl,backup,snippets"/' "$PVE_STUB_STATE/resources.json"
  run bash "$ENTRY" run "${OPTS[@]}"
  assert_success
  assert_line --partial 'call: pvesm path local:snippets/linus-qga.yaml'
  assert grep -qx 'cicustom: vendor=local:snippets/linus-qga.yaml' "$PVE_STUB_STATE/vms/100.conf"
  assert grep -q 'qemu-guest-agent' "$PVE_STUB_STATE/snippets-local/snippets/linus-qga.yaml"
  run bash "$ENTRY" run "${OPTS[@]/web01/web02}"
  assert_success
  refute_line --partial 'call: pvesm path'
  assert grep -qx 'cicustom: vendor=local:snippets/linus-qga.yaml' "$PVE_STUB_STATE/vms/101.conf"
}

@test "--dry-run validates read-only and prints the exact commands it would run" {
  run bash "$ENTRY" run "${OPTS[@]}" --dry-run --run-id dry-run-1
  assert_success
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_line "LINUS_PLAN:qm create 100 --name web01 --ostype l26 --cores 2 --memory 2048 --net0 virtio,bridge=vmbr0 --scsihw virtio-scsi-pci --scsi0 local-lvm:0,import-from=$REMOTE/images/sha256.$IMAGE_SHA.img --ide2 local-lvm:cloudinit --boot order=scsi0 --serial0 socket --vga serial0 --cpu x86-64-v2-AES --tags 'linus;linus-dry-run-1' --description 'linus 0.0.0-dev run=dry-run-1 os=ubuntu-24.04 cores=2 memory=2048M disk=8G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0' --ciuser ubuntu --ipconfig0 ip=dhcp --ciupgrade 0 --agent enabled=1 --sshkeys $REMOTE/jobs/dry-run-1/sshkeys --cicustom vendor=local:snippets/linus-qga.yaml"
  assert_line 'LINUS_PLAN:qm resize 100 scsi0 8G'
  assert_line 'LINUS_PLAN:qm start 100'
  refute_line --partial 'call: qm create'
  assert_equal "$(fake_vms)" ''
  [[ ! -e "$REMOTE" ]] || fail "dry run wrote $REMOTE"
}
