#!/usr/bin/env bats
# Picking the VM's address: net0's MAC only, never lo, link-local, docker or bridge decoys; the
# neighbour table when there is no agent; the SSH banner probe.

load helpers/common

setup() {
  fake_host
  MAC=bc:24:11:5e:22:9f
}

agent_json() {
  sed "s/@MAC@/$MAC/g" "$PVE_STUB_STATE/agent.json"
}

@test "the agent's answer gives eth0's IPv4, not lo, docker0, a bridge copying the MAC, or link-local" {
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "${MAC^^}" <<<"$(agent_json)"
  assert_success
  assert_output "$GUEST_IP"
}

@test "the pvesh {result: [...]} form works too; no matching MAC means no address" {
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "$MAC" <<<"{\"result\":$(agent_json)}"
  assert_output "$GUEST_IP"
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" 'bc:24:11:00:00:00' <<<"$(agent_json)"
  assert_failure
  assert_output ''
  agent_reports 169.254.9.9
  run bash -c 'source "$1"; agent_ip "$2"' _ "$ENTRY" "$MAC" <<<"$(agent_json)"
  assert_failure
}

@test "the neighbour table is matched by MAC, complete entries only" {
  cat >>"$LINUS_NEIGH_TABLE" <<ARP
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
  ssh_listener "$GUEST_IP"
  rm "$PVE_STUB_STATE/agent.json"
  sed -i 's/iso,vztmpl,backup,snippets/iso,vztmpl,backup/' "$PVE_STUB_STATE/resources.json"
  mapfile -t OPTS < <(std_opts)
  # The guest shows up in the table once it is running (what the host's bridge would learn).
  (
    while ! grep -qs running "$PVE_STUB_STATE"/vms/*.status; do sleep 0.2; done
    mac=$(sed -n 's/^net0: virtio=\([0-9A-F:]*\),.*/\1/p' "$PVE_STUB_STATE"/vms/*.conf)
    printf '%s 0x1 0x2 %s * vmbr0\n' "$GUEST_IP" "${mac,,}" >>"$LINUS_NEIGH_TABLE"
  ) &
  run bash "$ENTRY" run "${OPTS[@]}"
  stop_listener
  assert_success
  assert_line "LINUS_VM_IP:$GUEST_IP"
  assert_line --partial 'from the neighbour table'
  refute_line --partial 'call: qm guest cmd'
}

@test "the agent is polled with backoff until it answers" {
  ssh_listener "$GUEST_IP"
  echo 2 >"$PVE_STUB_STATE/agent_fail_polls"
  mapfile -t OPTS < <(std_opts)
  run bash "$ENTRY" run "${OPTS[@]}"
  stop_listener
  assert_success
  assert_equal "$(grep -c 'call: qm guest cmd' <<<"$output")" 3
  assert_line 'linus: qm: QEMU guest agent is not running'
}

@test "an SSH banner is recognised; a silent or non-SSH port is not" {
  ssh_listener "$GUEST_IP"
  lib_run "ssh_banner $GUEST_IP $SSH_PORT"
  assert_success
  stop_listener
  lib_run "ssh_banner $GUEST_IP $SSH_PORT"
  assert_failure
}
