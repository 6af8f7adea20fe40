#!/usr/bin/env bats
# shell/provision/proxmox.sh: whole runs on the simulated Proxmox VE host. The sources on a host
# prepared for linus (`local` holds snippets, so vendor-data brings the guest agent): the VM it
# makes, the protocol output, the number of Proxmox calls, secrets, and the dry run. Then the
# bundle end to end, mostly on a stock host. A step's own refusals and faults are in the file of
# its shell/lib script (host.bats, create.bats, net.bats, job.bats).

load helpers/common
load helpers/sim

setup() {
  require_sim
  test_image 2
}

# The options of run <run-id> without a name (the provisioner makes one up), for the bundle.
run_opts() { # <run-id> [more options]
  printf '%q ' --run-id "$1" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "${@:2}"
}

provision() { # [more options]
  run sim_host "bash $ENTRY run $(web01_opts "$@")"
}

@test "a run provisions the VM the request describes and reports it" {
  sim_setup "$PREPARED"
  provision --vlan 43 --dns "1.1.1.1 8.8.8.8" --search-domain example.com
  assert_success
  assert_line --index 0 'LINUS_PROTOCOL:1'
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line 'LINUS_VM_ID:100'
  assert_line "LINUS_VM_IP:$(sim_guest_ip 100)"
  assert_line 'LINUS_VM_USER:ubuntu'
  assert_line 'LINUS_VM_NAME:web01'
  assert_line 'LINUS_VM_OS:ubuntu-24.04'
  assert_line 'LINUS_VM_CPU:2'
  assert_line 'LINUS_VM_RAM:2048'
  assert_line 'LINUS_VM_DISK:8'
  assert_line 'LINUS_VM_NODE:pve'
  assert_equal "${lines[-1]}" 'LINUS_END'
  refute_line --partial 'LINUS_VM_PASSWORD'
  local run_id conf
  run_id=$(sed -n 's/^LINUS_RUN_ID://p' <<<"$output")
  conf=$(sim_conf 100)
  run grep -E '^(cores|memory|ciuser|ipconfig0|nameserver|searchdomain|tags|agent|boot): ' <<<"$conf"
  assert_output "agent: enabled=1
boot: order=scsi0
ciuser: ubuntu
cores: 2
ipconfig0: ip=dhcp
memory: 2048
nameserver: 1.1.1.1 8.8.8.8
searchdomain: example.com
tags: linus;linus-$run_id"
  assert grep -qE '^net0: virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,tag=43$' <<<"$conf"
  assert grep -qE '^scsi0: local-lvm:vm-100-disk-0,size=8G$' <<<"$conf"
  assert grep -q '^sshkeys: ssh-ed25519%20AAAA' <<<"$conf"
  assert_equal "$(sim_running_guests)" 100
}

@test "every output line is whole; protocol lines are short and survive ssh-mcp redaction" {
  sim_setup "$PREPARED"
  provision --password
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
  sim_setup "$PREPARED"
  provision
  assert_success
  assert_equal "$(call_count "$output")" 9
  assert_equal "$(grep -c '^linus: call: pvesm path' <<<"$output")" 1
  assert_equal "$(grep -c '^linus: call: qm guest cmd' <<<"$output")" 1
  # The host saw exactly the calls the provisioner logged.
  assert_equal "$(sim_call_count)" 9
}

@test "a name already in use fails with NAME_CONFLICT naming its VMID, before anything is made" {
  sim_setup "$PREPARED"
  sim_qm_create 123 web01
  provision
  assert_failure 9
  assert_line 'LINUS_ERROR_CODE:NAME_CONFLICT'
  assert_line --partial 'VMID 123'
  assert_line 'LINUS_EXIT:9'
  assert_equal "$(sim_vms)" 123
  refute_line --partial 'call: qm create'
}

@test "a disk smaller than the image is INVALID_SPEC before anything is created" {
  test_image 10
  sim_setup "$PREPARED"
  run sim_host "bash $ENTRY run $(printf '%q ' --remote-dir "$SIM_REMOTE" --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --disk 8)"
  assert_failure 1
  assert_line --partial 'smaller than the image (10 GiB'
  refute_line --partial 'call: qm create'
  assert_equal "$(sim_vms)" ''
}

@test "a failed start rolls the VM back and reports START_FAILED" {
  sim_setup "$PREPARED"
  sim_faults '{"startFail":true}'
  provision
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:START_FAILED'
  assert_line 'LINUS_ERROR:qm start 100 failed: start failed: QEMU exited with code 1'
  assert_line --partial 'rollback: VM 100 and its volumes removed'
  assert_equal "$(sim_vms)" ''
}

@test "--keep-on-failure keeps a VM whose start failed, tagged for gc, and says so; a cancel still rolls back" {
  sim_setup "$PREPARED"
  sim_faults '{"startFail":true}'
  provision --keep-on-failure --run-id keep-001
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:START_FAILED'
  assert_line 'LINUS_VM_KEPT:100'
  assert_line --partial 'rollback: VM 100 kept for inspection (--keep-on-failure), tagged linus-keep-001'
  refute_line --partial 'its volumes removed'
  assert_equal "$(sim_vms)" 100
  assert_equal "$(sim_tagged keep-001)" 100
  # gc knows it: the VM of a failed run.
  run sim_host "bash $ENTRY gc --remote-dir $SIM_REMOTE --older-than 0 --dry-run"
  assert_success
  assert_line 'LINUS_GC_CANDIDATE:100:keep-001:failed'
  run sim_host "bash $ENTRY cleanup keep-001 --remote-dir $SIM_REMOTE"
  assert_success
  assert_line 'LINUS_CLEANED:100'
  assert_equal "$(sim_vms)" ''
  sim_faults '{"agent":"never","neighbour":false}'
  run sim_host "bash $ENTRY start $(web01_opts --keep-on-failure --run-id keep-002 --timeout 600)"
  assert_success
  wait_job_log keep-002 'call: qm start'
  run sim_host "bash $ENTRY cancel keep-002 --remote-dir $SIM_REMOTE"
  assert_failure 130
  refute_line --regexp '^LINUS_VM_KEPT:'
  assert_line --partial 'its volumes removed'
  assert_equal "$(sim_vms)" ''
}

# A storage removed from storage.cfg after step 1 read it: every call is slowed down so that the
# removal lands between the job's step 2 and its `qm create` (the pvesm path call of step 3 comes
# first).
@test "a failed create reports CREATE_FAILED with the Proxmox message and leaves nothing" {
  sim_setup "$PREPARED"
  sim_faults '{"latencyMs":800}'
  run sim_host "bash $ENTRY start $(web01_opts --run-id create-gone)"
  assert_success
  wait_job_log create-gone '^LINUS_STEP:2/9:image$'
  perl -0pi -e 's/lvmthin: local-lvm\n(\t[^\n]*\n)*//' "$SIM_ROOT/etc/pve/storage.cfg"
  run sim_host "bash $ENTRY wait create-gone --remote-dir $SIM_REMOTE"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:CREATE_FAILED'
  assert_line --partial "storage 'local-lvm' does not exist"
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
}

@test "no address within --timeout is IP_TIMEOUT, and the VM is removed" {
  sim_setup "$PREPARED"
  sim_faults '{"agent":"never","neighbour":false}'
  provision --timeout 2
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:IP_TIMEOUT'
  assert_equal "$(sim_vms)" ''
}

@test "no SSH banner within --timeout is SSH_TIMEOUT, and the VM is removed" {
  sim_setup "$PREPARED"
  sim_faults '{"guestSsh":"never"}'
  provision --timeout 2
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:SSH_TIMEOUT'
  assert_equal "$(sim_vms)" ''
}

@test "a static address needs no agent and is reported as configured" {
  sim_setup "$PREPARED"
  # Nothing answers there before the VM runs (IP_IN_USE otherwise): the guest's sshd comes with it.
  sim_faults '{"agent":"never"}'
  provision --ip $SIM_NET.0.50/24 --gateway $SIM_NET.0.1
  assert_success
  assert_line "LINUS_VM_IP:$SIM_NET.0.50"
  refute_line --partial 'call: qm guest cmd'
  assert_equal "$(sim_conf 100 | grep '^ipconfig0: ')" "ipconfig0: ip=$SIM_NET.0.50/24,gw=$SIM_NET.0.1"
}

@test "--dns takes up to three servers, IPv4 and IPv6, into nameserver as given; a fourth is refused before anything is made" {
  sim_setup "$PREPARED"
  provision --dns "1.1.1.1 2606:4700:4700::1111 9.9.9.9"
  assert_success
  assert_equal "$(sim_conf 100 | grep '^nameserver: ')" 'nameserver: 1.1.1.1 2606:4700:4700::1111 9.9.9.9'
  run sim_host "bash $ENTRY run $(web01_opts --run-id dns-four --name web02 --dns "1.1.1.1 8.8.8.8 9.9.9.9 1.0.0.1")"
  assert_failure 1
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
  assert_line --partial '--dns must be 1 to 3 IP addresses'
  assert_equal "$(sim_vms)" 100
}

@test "--password returns a password once, stores only its SHA-256 crypt hash, never logs it" {
  sim_setup "$PREPARED"
  provision --password
  assert_success
  local pw
  pw=$(sed -n 's/^LINUS_VM_PASSWORD://p' <<<"$output")
  [[ "$pw" =~ ^[A-Za-z0-9]{5}(\.[A-Za-z0-9]{5}){3}$ ]] || fail "password format: $pw"
  assert_equal "$(grep -c "$pw" <<<"$output")" 1
  local hash
  hash=$(sim_conf 100 | sed -n 's/^cipassword: //p')
  [[ "$hash" == '$5$'* ]] || fail "not a sha256-crypt hash: $hash"
  assert_equal "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' "$pw" "$hash")" "$hash"
  refute grep -rq "$pw" "$SIM_REMOTE/jobs"
}

@test "a snippets storage gets the guest-agent vendor-data once, then the cached path is reused" {
  sim_setup "$PREPARED"
  provision
  assert_success
  assert_line --partial 'call: pvesm path local:snippets/linus-qga.yaml'
  assert_equal "$(sim_conf 100 | grep '^cicustom: ')" 'cicustom: vendor=local:snippets/linus-qga.yaml'
  assert grep -q 'qemu-guest-agent' "$SIM_ROOT/var/lib/vz/snippets/linus-qga.yaml"
  provision --name web02
  assert_success
  refute_line --partial 'call: pvesm path'
  assert_equal "$(sim_conf 101 | grep '^cicustom: ')" 'cicustom: vendor=local:snippets/linus-qga.yaml'
}

@test "--dry-run validates read-only and prints the exact commands it would run" {
  sim_setup "$PREPARED"
  local dry="$SIM_ROOT/var/lib/linus-dry"
  provision --dry-run --run-id dry-run-1 --remote-dir "$dry"
  assert_success
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_line "LINUS_PLAN:qm create 100 --name web01 --ostype l26 --cores 2 --memory 2048 --net0 virtio,bridge=vmbr0 --scsihw virtio-scsi-pci --scsi0 local-lvm:0,import-from=$dry/images/sha256.$IMAGE_SHA.img --ide2 local-lvm:cloudinit --boot order=scsi0 --serial0 socket --vga serial0 --cpu x86-64-v2-AES --tags 'linus;linus-dry-run-1' --description 'linus 0.0.0-dev run=dry-run-1 os=ubuntu-24.04 cores=2 memory=2048M disk=8G user=ubuntu ip=dhcp cpu=x86-64-v2-AES upgrade=0 keys=1 password=0 image=sha256:$IMAGE_SHA' --ciuser ubuntu --ipconfig0 ip=dhcp --ciupgrade 0 --agent enabled=1 --sshkeys $dry/jobs/dry-run-1/sshkeys --cicustom vendor=local:snippets/linus-qga.yaml"
  assert_line 'LINUS_PLAN:qm resize 100 scsi0 8G'
  assert_line 'LINUS_PLAN:qm start 100'
  refute_line --partial 'call: qm create'
  assert_equal "$(sim_vms)" ''
  [[ ! -e "$dry" ]] || fail "dry run wrote $dry"
}

# The faults of src/sim/faults.ts that end here: each run fails with its code and leaves nothing
# behind (assert_failed_clean), or succeeds where the provisioner has a way around it.

@test "latencyMs: SUCCESS, and every call took at least the latency" {
  sim_setup "$FAST"
  sim_faults '{"latencyMs":250}'
  sim_provision
  assert_success
  run perl -MJSON::PP -ne 'my $c = decode_json($_); print "$c->{durationMs}\n" if $c->{durationMs} < 250' "$SIM_ROOT/sim/calls.jsonl"
  assert_output ''
  # pveversion, resources, bridge, create, resize, config, start at least.
  (($(sim_call_count) >= 7)) || fail "too few calls logged"
}

# The bundle (what gets uploaded), end to end: on a stock host unless said.

@test "a DHCP provision on a stock host: the address by probe and MAC, no agent in the config, x86-64-v2-AES, no upgrade" {
  sim_setup '{"bootDelayMs":1500}'
  run sim_host "bash $BUNDLE run $(run_opts e2e-dhcp --name web01 --cores 3 --memory 3072 --dns '1.1.1.1 8.8.8.8' --search-domain example.com)"
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line 'LINUS_VM_ID:100'
  assert_line 'LINUS_VM_NAME:web01'
  assert_line 'LINUS_VM_USER:ubuntu'
  assert_line 'LINUS_VM_CPU:3'
  assert_line 'LINUS_VM_RAM:3072'
  assert_line 'LINUS_VM_DISK:8'
  assert_line 'LINUS_VM_NODE:pve'
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_line --regexp "^linus: address: a probe of $SIM_NET_RE\.0\.2/24 on vmbr0, then the neighbour table by MAC"
  assert_line --regexp "^linus: address $SIM_NET_RE\.0\.[0-9]+ from the neighbour table$"
  assert_line --regexp "^linus: $SIM_NET_RE\.0\.[0-9]+ belongs to VM 100 \(MAC bc:24:11:"
  local ip
  ip=$(sim_guest_ip 100)
  [[ "$ip" == "$SIM_NET".0.* ]] || fail "the guest got no DHCP lease: '$ip'"
  assert_equal "$(linus_value VM_IP)" "$ip"

  run sim_conf 100
  assert_line 'cores: 3'
  assert_line 'memory: 3072'
  assert_line 'cpu: x86-64-v2-AES'
  assert_line 'ciupgrade: 0'
  assert_line --regexp '^scsi0: local-lvm:vm-100-disk-0,size=8G$'
  assert_line --regexp '^net0: virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$'
  assert_line 'ciuser: ubuntu'
  assert_line 'ipconfig0: ip=dhcp'
  assert_line 'nameserver: 1.1.1.1 8.8.8.8'
  assert_line 'searchdomain: example.com'
  assert_line 'tags: linus;linus-e2e-dhcp'
  # Nothing would answer an enabled agent: it is not enabled (reference §15.3, §15.6).
  refute_line --regexp '^agent:'
  refute_line --regexp '^cicustom:'
  local keys
  keys=$(sed -n 's/^sshkeys: //p' <<<"$output" | perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge')
  assert_equal "${keys%$'\n'}" "$TEST_KEY"
  assert_equal "$(sim_running_guests)" 100
  assert_equal "$(cat "$(sim_job e2e-dhcp)/state")" finished
}

@test "a DHCP provision on a VLAN the node has no address on: refused before anything is created" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(run_opts e2e-novlan --vlan 43)"
  assert_failure 3
  assert_line 'LINUS_ERROR_CODE:IP_DISCOVERY_UNAVAILABLE'
  assert_line --partial "run 'linus doctor --fix'"
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  run sim_calls
  refute_output --regexp '^qm '
}

@test "the same VLAN provision on a prepared host: vendor-data installs the agent, which gives the address" {
  sim_setup '{"bootDelayMs":300,"agentPingTimeoutMs":500,"agentInstallDelayMs":1000,"prepared":true}'
  run sim_host "bash $BUNDLE run $(run_opts e2e-vlan --vlan 43)"
  assert_success
  assert_line --regexp '^linus: address [0-9.]+ from the guest agent$'
  local ip
  ip=$(sim_guest_ip 100)
  [[ "$ip" == "$SIM_NET".43.* ]] || fail "the guest got no lease on VLAN 43: '$ip'"
  assert_equal "$(linus_value VM_IP)" "$ip"
  run sim_conf 100
  assert_line 'agent: enabled=1'
  assert_line 'cicustom: vendor=local:snippets/linus-qga.yaml'
  assert_line 'ciupgrade: 0'
  assert_line --regexp '^net0: virtio=[0-9A-F:]{17},bridge=vmbr0,tag=43$'
  run cat "$SIM_ROOT/var/lib/vz/snippets/linus-qga.yaml"
  assert_line '  - qemu-guest-agent'
}

@test "a static IP provision reports the static address, configures the gateway and checks who answers there" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(run_opts e2e-static --name static01 --ip $SIM_NET.0.50/24 --gateway $SIM_NET.0.1)"
  assert_success
  assert_line "LINUS_VM_IP:$SIM_NET.0.50"
  assert_line "linus: static address $SIM_NET.0.50 is free: nothing on vmbr0 answered for it"
  assert_line --regexp "^linus: $SIM_NET_RE\.0\.50 belongs to VM 100 \(MAC bc:24:11:"
  run sim_conf 100
  assert_line "ipconfig0: ip=$SIM_NET.0.50/24,gw=$SIM_NET.0.1"
  assert_line --regexp '^net0: virtio=[0-9A-F:]{17},bridge=vmbr0$'
}

@test "every output line parses with stderr merged, and wait replays the same final block" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(run_opts e2e-merged) 2>&1"
  assert_success
  local line
  for line in "${lines[@]}"; do
    [[ "$line" =~ ^LINUS_[A-Z_]+(:.*)?$ || "$line" == 'linus: '* ]] || fail "a line that is neither protocol nor log: $line"
  done
  run sim_host "bash $BUNDLE wait e2e-merged --remote-dir $SIM_REMOTE"
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line 'LINUS_VM_ID:100'
}

@test "a provision makes 7 Proxmox calls, counted by the simulator's call log (no agent to poll on a stock host)" {
  sim_setup '{"bootDelayMs":0}'
  run sim_host "bash $BUNDLE run $(run_opts e2e-count0)"
  assert_success
  assert_equal "$(sim_call_count '^qm guest cmd ')" 0
  assert_equal "$(sim_call_count)" 7
  # The provisioner's own count of its calls agrees with the simulator's log.
  assert_equal "$(call_count "$output")" "$(sim_call_count)"
}

@test "300 existing VMs do not add a single Proxmox call" {
  # createSimHost seeds 8 GiB volumes: 300 of them need a pool larger than the default 500 GiB.
  local settings='{"bootDelayMs":0,"storageCapacity":{"local":107374182400,"local-lvm":8796093022208}}'
  sim_setup "$settings" 0
  run sim_host "bash $BUNDLE run $(run_opts e2e-empty)"
  assert_success
  local empty_total empty_polls
  empty_total=$(sim_call_count)
  empty_polls=$(sim_call_count '^qm guest cmd ')
  sim_teardown
  rm -rf "$SIM_ROOT"

  sim_setup "$settings" 300
  assert_equal "$(sim_vms | wc -l)" 300
  run sim_host "bash $BUNDLE run $(run_opts e2e-busy)"
  assert_success
  assert_line 'LINUS_VM_ID:400'
  local busy_total busy_polls
  busy_total=$(sim_call_count)
  busy_polls=$(sim_call_count '^qm guest cmd ')
  assert_equal "$((busy_total - busy_polls))" 7
  assert_equal "$((empty_total - empty_polls))" 7
  assert_equal "$busy_total" "$empty_total"
  # The 300 VMs are untouched: no call names one of them.
  run sim_calls
  refute_output --regexp '^qm [a-z ]+ (1[0-9][0-9]|[23][0-9][0-9]) '
}

@test "a dry run on the simulated host changes nothing and makes only reads" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(run_opts e2e-dry) --dry-run"
  assert_success
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_line --regexp '^LINUS_PLAN:qm create 100 '
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  run sim_calls
  refute_output --regexp '^qm '
}
