#!/usr/bin/env bats
# The VM's address on a stock host (shell/lib/net.sh) against the simulated host: a static address
# another machine holds, before and after the VM boots; an image that ships the agent; a stale
# neighbour entry; the CPU a RHEL 9 kernel needs. Reference §15.1, §15.3, §15.5, §15.14.

load helpers/common
load helpers/sim

FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'

setup() {
  require_sim
  test_image 2
}

teardown() {
  sim_teardown
}

opts() { # <run-id> [more options]
  printf '%q ' --run-id "$1" --remote-dir "$SIM_REMOTE" --disk 12 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "${@:2}"
}

@test "a static address a machine answers SSH at: IP_IN_USE before anything is created" {
  sim_setup "$FAST"
  sim_foreign 127.88.0.60 >/dev/null
  run sim_host "bash $BUNDLE run $(opts ip-ssh --ip 127.88.0.60/24 --gateway 127.88.0.1)"
  assert_failure 9
  assert_line 'LINUS_ERROR_CODE:IP_IN_USE'
  assert_line 'LINUS_ERROR:127.88.0.60 already answers SSH on port 22: another machine holds that address'
  assert_equal "$(sim_vms)" ''
  run sim_calls
  refute_output --regexp '^qm '
}

@test "a static address a silent machine holds (ARP only): IP_IN_USE naming its MAC, nothing created" {
  sim_setup "$FAST"
  local mac
  mac=$(sim_foreign 127.88.0.61 no-ssh)
  run sim_host "bash $BUNDLE run $(opts ip-arp --ip 127.88.0.61/24 --gateway 127.88.0.1)"
  assert_failure 9
  assert_line "LINUS_ERROR:127.88.0.61 is already in use on vmbr0 by the machine with MAC $mac"
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
}

@test "the node's own address is refused as a static --ip" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts ip-node --ip 127.88.0.2/24 --gateway 127.88.0.1)"
  assert_failure 9
  assert_line "LINUS_ERROR:127.88.0.2 is node pve's own address on vmbr0"
}

@test "a machine that takes the address while the VM boots: IP_IN_USE after boot, and the VM rolled back" {
  sim_setup '{"bootDelayMs":4000,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
  sim_host "bash $BUNDLE start $(opts ip-late --ip 127.88.0.62/24 --gateway 127.88.0.1)" >/dev/null
  wait_job_log ip-late 'LINUS_STEP:6/9:start'
  local mac
  mac=$(sim_foreign 127.88.0.62)
  run sim_host "bash $BUNDLE wait ip-late --remote-dir $SIM_REMOTE --max-seconds 90"
  assert_failure 9
  assert_line --regexp "^LINUS_ERROR:127\\.88\\.0\\.62 answers SSH, but it belongs to MAC $mac, not to VM 100 \\(bc:24:11:"
  assert_no_leftovers ip-late 100
}

@test "an image that ships the guest agent: agent enabled, address from it, no vendor-data" {
  test_image 12 rocky-9
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts rocky-agent --os rocky)"
  assert_success
  assert_line 'linus: address: from the guest agent the image ships (a probe of 127.88.0.2/24 if it is late)'
  assert_line --regexp '^linus: address 127\.88\.0\.[0-9]+ from the guest agent$'
  run sim_conf 100
  assert_line 'agent: enabled=1'
  assert_line 'cpu: x86-64-v2-AES'
  refute_line --regexp '^cicustom:'
}

@test "a RHEL 9 family OS on a CPU type without x86-64-v2 is refused before anything is sent to qm" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts rocky-kvm64 --os rocky --cpu kvm64)"
  assert_failure 1
  assert_line --partial 'LINUS_ERROR:--os rocky-9 needs a CPU type with x86-64-v2 (its kernel does not boot on kvm64)'
  run sim_host "bash $BUNDLE run $(opts cpu-bogus --cpu Pentium9)"
  assert_failure 1
  assert_line --partial 'LINUS_ERROR:--cpu must be a CPU type Proxmox knows'
  assert_equal "$(sim_call_count)" 0
}

@test "a stale neighbour entry for the VM's MAC: SSH stays silent there, the address is looked up again" {
  sim_setup '{"bootDelayMs":3000,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
  sim_host "bash $BUNDLE start $(opts stale-entry)" >/dev/null
  wait_job_log stale-entry 'LINUS_STEP:6/9:start'
  local mac
  mac=$(sed -n 's/^net0: virtio=\([0-9A-F:]*\),.*/\1/p' <<<"$(sim_conf 100)")
  # What the table could hold from an earlier lease of the same NIC.
  printf '%-16s 0x1         0x2         %-17s     *        vmbr0\n' 127.88.0.250 "${mac,,}" >>"$SIM_ROOT/proc/net/arp"
  run sim_host "bash $BUNDLE wait stale-entry --remote-dir $SIM_REMOTE --max-seconds 90"
  assert_success
  assert_line 'linus: address 127.88.0.250 from the neighbour table'
  assert_line --regexp "^linus: VM 100 is now at $(sim_guest_ip 100 | sed 's/\./\\./g') \\(was 127\\.88\\.0\\.250\\)$"
  assert_line "LINUS_VM_IP:$(sim_guest_ip 100)"
}
