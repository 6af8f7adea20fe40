#!/usr/bin/env bats
# The bundled provisioner end to end against the simulated Proxmox VE host (src/sim): the VM it
# makes, the IP it reports, and the number of Proxmox calls. Skipped with a message when the
# simulator is not built, and failing instead when CI is set. Faults: faults-sim.bats.

load helpers/common
load helpers/sim

# Fast boots and agent pings keep the suite short; the code paths are the real ones.
FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'

setup() {
  require_sim
  test_image 2
}

teardown() {
  sim_teardown
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # <run-id> [more options]
  printf '%q ' --run-id "$1" --remote-dir "$SIM_REMOTE" --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "${@:2}"
}

# The value of a LINUS_<key> line in $output.
linus_value() { # <KEY>
  sed -n "s/^LINUS_$1://p" <<<"$output" | tail -n 1
}

@test "a DHCP provision on a stock host: the address by probe and MAC, no agent in the config, x86-64-v2-AES, no upgrade" {
  sim_setup '{"bootDelayMs":1500}'
  run sim_host "bash $BUNDLE run $(opts e2e-dhcp --name web01 --cores 3 --memory 3072 --dns '1.1.1.1 8.8.8.8' --search-domain example.com)"
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
  assert_line --regexp '^linus: address: a probe of 127\.88\.0\.2/24 on vmbr0, then the neighbour table by MAC'
  assert_line --regexp '^linus: address 127\.88\.0\.[0-9]+ from the neighbour table$'
  assert_line --regexp '^linus: 127\.88\.0\.[0-9]+ belongs to VM 100 \(MAC bc:24:11:'
  local ip
  ip=$(sim_guest_ip 100)
  [[ "$ip" == 127.88.0.* ]] || fail "the guest got no DHCP lease: '$ip'"
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
  run sim_host "bash $BUNDLE run $(opts e2e-novlan --vlan 42)"
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
  run sim_host "bash $BUNDLE run $(opts e2e-vlan --vlan 42)"
  assert_success
  assert_line --regexp '^linus: address [0-9.]+ from the guest agent$'
  local ip
  ip=$(sim_guest_ip 100)
  [[ "$ip" == 127.89.42.* ]] || fail "the guest got no lease on VLAN 42: '$ip'"
  assert_equal "$(linus_value VM_IP)" "$ip"
  run sim_conf 100
  assert_line 'agent: enabled=1'
  assert_line 'cicustom: vendor=local:snippets/linus-qga.yaml'
  assert_line 'ciupgrade: 0'
  assert_line --regexp '^net0: virtio=[0-9A-F:]{17},bridge=vmbr0,tag=42$'
  run cat "$SIM_ROOT/var/lib/vz/snippets/linus-qga.yaml"
  assert_line '  - qemu-guest-agent'
}

@test "a static IP provision reports the static address, configures the gateway and checks who answers there" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts e2e-static --name static01 --ip 127.88.0.50/24 --gateway 127.88.0.1)"
  assert_success
  assert_line 'LINUS_VM_IP:127.88.0.50'
  assert_line 'linus: static address 127.88.0.50 is free: nothing on vmbr0 answered for it'
  assert_line --regexp '^linus: 127\.88\.0\.50 belongs to VM 100 \(MAC bc:24:11:'
  run sim_conf 100
  assert_line 'ipconfig0: ip=127.88.0.50/24,gw=127.88.0.1'
  assert_line --regexp '^net0: virtio=[0-9A-F:]{17},bridge=vmbr0$'
}

@test "every output line parses with stderr merged, and wait replays the same final block" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts e2e-merged) 2>&1"
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
  run sim_host "bash $BUNDLE run $(opts e2e-count0)"
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
  run sim_host "bash $BUNDLE run $(opts e2e-empty)"
  assert_success
  local empty_total empty_polls
  empty_total=$(sim_call_count)
  empty_polls=$(sim_call_count '^qm guest cmd ')
  sim_teardown
  rm -rf "$SIM_ROOT"

  sim_setup "$settings" 300
  assert_equal "$(sim_vms | wc -l)" 300
  run sim_host "bash $BUNDLE run $(opts e2e-busy)"
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
  run sim_host "bash $BUNDLE run $(opts e2e-dry) --dry-run"
  assert_success
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_line --regexp '^LINUS_PLAN:qm create 100 '
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  run sim_calls
  refute_output --regexp '^qm '
}
