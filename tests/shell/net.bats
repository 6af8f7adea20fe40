#!/usr/bin/env bats
# shell/lib/net.sh: picking the VM's address. The agent's answer by net0's MAC only (never lo,
# link-local, docker or bridge decoys); the neighbour table when there is no agent; the SSH banner
# probe; and on the simulated host (a stock one unless said): the agent polled with backoff, a
# static address another machine holds before and after the VM boots, an image that ships the
# agent, a stale neighbour entry; the agent and guest SSH faults. Reference §15.1, §15.3, §15.5, §15.14.

load helpers/common
load helpers/sim

GUEST_IP=127.77.0.5
MAC=bc:24:11:5e:22:9f

setup() {
  require_sim
  test_image 2
}

teardown() {
  stop_listener
  sim_teardown
}

# The options of a request, quoted for the host shell's bash -c.
opts() { # <run-id> [more options]
  printf '%q ' --run-id "$1" --remote-dir "$SIM_REMOTE" --disk 12 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "${@:2}"
}

# A guest agent's network-get-interfaces answer (qemu-ga's shape, as `qm guest cmd` prints it): lo,
# a docker0 decoy, a bridge that copies net0's MAC, then eth0 (net0's MAC) with link-local and
# <ip>.
agent_answer() { # <ip>
  cat <<JSON
[
   { "hardware-address" : "00:00:00:00:00:00", "name" : "lo",
     "ip-addresses" : [ { "ip-address" : "127.0.0.1", "ip-address-type" : "ipv4", "prefix" : 8 } ] },
   { "hardware-address" : "02:42:ac:11:00:01", "name" : "docker0",
     "ip-addresses" : [ { "ip-address" : "172.17.0.1", "ip-address-type" : "ipv4", "prefix" : 16 } ] },
   { "hardware-address" : "$MAC", "name" : "br-guest",
     "ip-addresses" : [ { "ip-address" : "10.9.9.9", "ip-address-type" : "ipv4", "prefix" : 24 } ] },
   { "hardware-address" : "$MAC", "name" : "eth0",
     "ip-addresses" : [ { "ip-address" : "fe80::be24:11ff:fe00:1", "ip-address-type" : "ipv6", "prefix" : 64 },
                        { "ip-address" : "169.254.3.4", "ip-address-type" : "ipv4", "prefix" : 16 },
                        { "ip-address" : "$1", "ip-address-type" : "ipv4", "prefix" : 24 } ] }
]
JSON
}

# A listener on <ip> that greets like sshd; sets SSH_PORT.
ssh_listener() { # <ip>
  SSH_PORT=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die; print $s->sockport')
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => $ARGV[1], Listen => 5, ReuseAddr => 1) or die "listen: $!";
    while (my $c = $s->accept) { print $c "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"; close $c }' "$1" "$SSH_PORT" 3>&- &
  SSH_LISTENER_PID=$!
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1]) or exit 1' "$1" "$SSH_PORT" && return 0
    sleep 0.1
  done
  return 1
}

stop_listener() {
  [[ -z "${SSH_LISTENER_PID:-}" ]] || kill "$SSH_LISTENER_PID" 2>/dev/null || true
}

@test "the agent's answer gives eth0's IPv4, not lo, docker0, a bridge copying the MAC, or link-local" {
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "${MAC^^}" <<<"$(agent_answer "$GUEST_IP")"
  assert_success
  assert_output "$GUEST_IP"
}

@test "the pvesh {result: [...]} form works too; no matching MAC means no address" {
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "$MAC" <<<"{\"result\":$(agent_answer "$GUEST_IP")}"
  assert_output "$GUEST_IP"
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" 'bc:24:11:00:00:00' <<<"$(agent_answer "$GUEST_IP")"
  assert_failure
  assert_output ''
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "$MAC" <<<"$(agent_answer 169.254.9.9)"
  assert_failure
}

@test "the neighbour table is matched by MAC, complete entries only" {
  export LINUS_NEIGH_TABLE="$BATS_TEST_TMPDIR/arp"
  cat >"$LINUS_NEIGH_TABLE" <<ARP
IP address       HW type     Flags       HW address            Mask     Device
10.0.0.7         0x1         0x0         bc:24:11:5e:22:9f     *        vmbr0
169.254.1.1      0x1         0x2         bc:24:11:5e:22:9f     *        vmbr0
10.0.0.9         0x1         0x2         bc:24:11:00:00:01     *        vmbr0
10.0.0.8         0x1         0x2         BC:24:11:5E:22:9F     *        vmbr0
ARP
  lib_run "neigh_ip $MAC"
  assert_output 10.0.0.8
  lib_run "neigh_ip bc:24:11:99:99:99"
  assert_failure
}

@test "without an agent (no snippets storage) the address comes from a probe and the neighbour table" {
  sim_setup '{"bootDelayMs":0}'
  run sim_host "bash $ENTRY run $(opts probe-run1)"
  assert_success
  assert_line "LINUS_VM_IP:$(sim_guest_ip 100)"
  assert_line --partial 'from the neighbour table'
  refute_line --partial 'call: qm guest cmd'
}

# A silent agent makes `qm guest cmd` fail with `QEMU guest agent is not running` (qemu-server
# Agent.pm qga_check_running); the fault is lifted after the second poll, in the backoff before
# the third, so the third poll gets the answer. The guest stays out of the neighbour table (whose
# probe would otherwise give the address first).
@test "the agent is polled with backoff until it answers" {
  sim_setup '{"prepared":true,"bootDelayMs":0,"agentInstallDelayMs":0,"agentPingTimeoutMs":300,"lockTimeoutMs":1500}'
  sim_faults '{"agent":"never","neighbour":false}'
  sim_host "bash $ENTRY start $(opts poll-run1)" >/dev/null
  local log i
  log="$(sim_job poll-run1)/log"
  for ((i = 0; i < 300; i++)); do
    (($(grep -c 'QEMU guest agent is not running' "$log" 2>/dev/null) >= 2)) && break
    sleep 0.1
  done
  sim_faults '{"neighbour":false}'
  run sim_host "bash $ENTRY wait poll-run1 --remote-dir $SIM_REMOTE --max-seconds 90"
  assert_success
  assert_equal "$(grep -c 'call: qm guest cmd' <<<"$output")" 3
  assert_line 'linus: qm: QEMU guest agent is not running'
  assert_line --regexp "^linus: address $SIM_NET_RE\.0\.[0-9]+ from the guest agent$"
}

@test "an SSH banner is recognised; a silent or non-SSH port is not" {
  ssh_listener "$GUEST_IP"
  lib_run "ssh_banner $GUEST_IP $SSH_PORT"
  assert_success
  stop_listener
  lib_run "ssh_banner $GUEST_IP $SSH_PORT"
  assert_failure
}

@test "a static address a machine answers SSH at: IP_IN_USE before anything is created" {
  sim_setup "$FAST"
  sim_foreign "$SIM_NET.0.60" >/dev/null
  run sim_host "bash $BUNDLE run $(opts ip-ssh --ip $SIM_NET.0.60/24 --gateway $SIM_NET.0.1)"
  assert_failure 9
  assert_line 'LINUS_ERROR_CODE:IP_IN_USE'
  assert_line "LINUS_ERROR:$SIM_NET.0.60 already answers SSH on port 22: another machine holds that address"
  assert_equal "$(sim_vms)" ''
  run sim_calls
  refute_output --regexp '^qm '
}

@test "a static address a silent machine holds (ARP only): IP_IN_USE naming its MAC, nothing created" {
  sim_setup "$FAST"
  local mac
  mac=$(sim_foreign "$SIM_NET.0.61" no-ssh)
  run sim_host "bash $BUNDLE run $(opts ip-arp --ip $SIM_NET.0.61/24 --gateway $SIM_NET.0.1)"
  assert_failure 9
  assert_line "LINUS_ERROR:$SIM_NET.0.61 is already in use on vmbr0 by the machine with MAC $mac"
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
}

@test "the node's own address is refused as a static --ip" {
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts ip-node --ip $SIM_NET.0.2/24 --gateway $SIM_NET.0.1)"
  assert_failure 9
  assert_line "LINUS_ERROR:$SIM_NET.0.2 is node pve's own address on vmbr0"
}

@test "a machine that takes the address while the VM boots: IP_IN_USE after boot, and the VM rolled back" {
  # The boot waits long enough for the foreign machine to come up first on a loaded machine.
  sim_setup '{"bootDelayMs":8000,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
  sim_host "bash $BUNDLE start $(opts ip-late --ip $SIM_NET.0.62/24 --gateway $SIM_NET.0.1)" >/dev/null
  wait_job_log ip-late 'LINUS_STEP:6/9:start'
  local mac
  mac=$(sim_foreign "$SIM_NET.0.62")
  run sim_host "bash $BUNDLE wait ip-late --remote-dir $SIM_REMOTE --max-seconds 90"
  assert_failure 9
  assert_line --regexp "^LINUS_ERROR:$SIM_NET_RE\\.0\\.62 answers SSH, but it belongs to MAC $mac, not to VM 100 \\(bc:24:11:"
  assert_no_leftovers ip-late 100
}

@test "an image that ships the guest agent: agent enabled, address from it, no vendor-data" {
  test_image 12 rocky-9
  sim_setup "$FAST"
  run sim_host "bash $BUNDLE run $(opts rocky-agent --os rocky)"
  assert_success
  assert_line "linus: address: from the guest agent the image ships (a probe of $SIM_NET.0.2/24 if it is late)"
  assert_line --regexp "^linus: address $SIM_NET_RE\.0\.[0-9]+ from the guest agent$"
  run sim_conf 100
  assert_line 'agent: enabled=1'
  assert_line 'cpu: x86-64-v2-AES'
  refute_line --regexp '^cicustom:'
}

@test "a stale neighbour entry for the VM's MAC: SSH stays silent there, the address is looked up again" {
  sim_setup '{"bootDelayMs":3000,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
  sim_host "bash $BUNDLE start $(opts stale-entry)" >/dev/null
  wait_job_log stale-entry 'LINUS_STEP:6/9:start'
  local mac
  mac=$(sed -n 's/^net0: virtio=\([0-9A-F:]*\),.*/\1/p' <<<"$(sim_conf 100)")
  # What the table could hold from an earlier lease of the same NIC.
  printf '%-16s 0x1         0x2         %-17s     *        vmbr0\n' "$SIM_NET.0.250" "${mac,,}" >>"$SIM_ROOT/proc/net/arp"
  run sim_host "bash $BUNDLE wait stale-entry --remote-dir $SIM_REMOTE --max-seconds 90"
  assert_success
  assert_line "linus: address "$SIM_NET.0.250" from the neighbour table"
  assert_line --regexp "^linus: VM 100 is now at $(sim_guest_ip 100 | sed 's/\./\\./g') \\(was $SIM_NET_RE\\.0\\.250\\)$"
  assert_line "LINUS_VM_IP:$(sim_guest_ip 100)"
}

# The faults of src/sim/faults.ts that end here: each run fails with its code and leaves nothing
# behind (assert_failed_clean), or succeeds where the provisioner has a way around it.

@test "agent never, neighbour on: SUCCESS through the neighbour table with the guest's IP" {
  sim_setup "$FAST"
  sim_faults '{"agent":"never"}'
  sim_provision
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line --regexp "^linus: address $SIM_NET_RE\.[0-9.]+ from the neighbour table$"
  assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip 100)"
}

@test "agent answering late (an image that ships it): SUCCESS through the agent" {
  test_image 8 rocky-9
  sim_setup "$FAST"
  sim_faults '{"agent":{"delayMs":2500},"neighbour":false}'
  sim_provision --os rocky
  assert_success
  assert_line --regexp "^linus: address $SIM_NET_RE\.[0-9.]+ from the guest agent$"
  assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip 100)"
}

@test "agent never, neighbour false: IP_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"agent":"never","neighbour":false}'
  sim_provision --timeout 3
  assert_failed_clean IP_TIMEOUT 6 100
  assert_equal "$(sim_vms)" ''
}

@test "guestSsh never: SSH_TIMEOUT, VM rolled back" {
  sim_setup "$FAST"
  sim_faults '{"guestSsh":"never"}'
  sim_provision --timeout 4
  assert_failed_clean SSH_TIMEOUT 6 100
  assert_equal "$(sim_vms)" ''
}
