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

@test "a DHCP provision yields a running VM with exactly the requested config and the NIC's IP" {
  sim_setup '{"bootDelayMs":1500}'
  run sim_host "bash $BUNDLE run $(opts e2e-dhcp --name web01 --cores 3 --memory 3072 --vlan 42 --dns '1.1.1.1 8.8.8.8' --search-domain example.com)"
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
  local ip
  ip=$(sim_guest_ip 100)
  [[ "$ip" == 127.88.* ]] || fail "the guest got no DHCP lease: '$ip'"
  assert_equal "$(linus_value VM_IP)" "$ip"
  # Never a decoy: docker0 and lo are in the agent's answer too.
  refute_line 'LINUS_VM_IP:172.17.0.1'

  run sim_conf 100
  assert_line 'cores: 3'
  assert_line 'memory: 3072'
  assert_line --regexp '^scsi0: local-lvm:vm-100-disk-0,size=8G$'
  assert_line --regexp '^net0: virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0,tag=42$'
  assert_line 'ciuser: ubuntu'
  assert_line 'ipconfig0: ip=dhcp'
  assert_line 'nameserver: 1.1.1.1 8.8.8.8'
  assert_line 'searchdomain: example.com'
  assert_line 'tags: linus;linus-e2e-dhcp'
  assert_line 'agent: enabled=1'
  local keys
  keys=$(sed -n 's/^sshkeys: //p' <<<"$output" | perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge')
  assert_equal "${keys%$'\n'}" "$TEST_KEY"
  assert_equal "$(sim_running_guests)" 100
  assert_equal "$(cat "$(sim_job e2e-dhcp)/state")" finished
}

@test "a static IP provision reports the static address and configures the gateway" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts e2e-static --name static01 --ip 127.88.50.5/16 --gateway 127.88.0.1)"
  assert_success
  assert_line 'LINUS_VM_IP:127.88.50.5'
  run sim_conf 100
  assert_line 'ipconfig0: ip=127.88.50.5/16,gw=127.88.0.1'
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

@test "a provision makes 8 Proxmox calls plus agent polls, counted by the simulator's call log" {
  sim_setup '{"bootDelayMs":0}'
  run sim_host "bash $BUNDLE run $(opts e2e-count0)"
  assert_success
  local polls others
  polls=$(sim_call_count '^qm guest cmd ')
  others=$(($(sim_call_count) - polls))
  assert_equal "$others" 8
  ((polls >= 1)) || fail "no guest agent poll"
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
  assert_equal "$((busy_total - busy_polls))" 8
  assert_equal "$((empty_total - empty_polls))" 8
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
