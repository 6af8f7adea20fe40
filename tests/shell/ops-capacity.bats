#!/usr/bin/env bats
# shell/lib/ops-capacity.sh (vm list, capacity, place) against the simulated Proxmox VE host.

load helpers/common
load helpers/sim

# The most agent calls in flight at one moment, from the simulator's call log (start time and
# duration of every call).
max_agent_overlap() {
  perl -MJSON::PP -MTime::Local -ne '
    my $c = decode_json($_);
    next unless join(" ", @{ $c->{argv} }) =~ m{^get /nodes/[^/]+/qemu/\d+/agent/network-get-interfaces};
    my ($y, $mo, $d, $h, $mi, $s, $ms) = $c->{time} =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/ or die "bad time\n";
    my $start = timegm($s, $mi, $h, $d, $mo - 1, $y) * 1000 + $ms;
    push @ev, [$start, 1], [$start + $c->{durationMs}, -1];
    END {
      my ($now, $max) = (0, 0);
      for my $e (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @ev) { $now += $e->[1]; $max = $now if $now > $max }
      print "$max\n";
    }' "$SIM_ROOT/sim/calls.jsonl"
}

@test "list asks at most 8 guest agents at once and still reports every running VM's address" {
  sim_setup '{"bootDelayMs":300,"agentPingTimeoutMs":300}'
  # Guests that boot a system with its own agent (a Rocky image on an x86-64-v2 CPU).
  test_image 10 rocky-9
  local id count=10
  for ((id = 101; id < 101 + count; id++)); do
    sim_qm_create "$id" "web$id" 'linus;linus-r1' --agent 1 --cpu x86-64-v2-AES --scsi1 "local-lvm:0,import-from=$IMAGE_FILE" --boot order=scsi1
  done
  sim_host "for id in \$(seq 101 $((100 + count))); do qm start \$id >/dev/null || exit 1; done" || fail "qm start failed"
  sim_host "for id in \$(seq 101 $((100 + count))); do for i in \$(seq 50); do qm guest cmd \$id ping && break; sleep 0.2; done; done" ||
    fail "the agents did not answer"
  # Every call takes 1 s: unbounded, all agent calls overlap.
  sim_faults '{"latencyMs":1000}'
  sim_clear_calls
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") list --remote-dir $(printf '%q' "$SIM_REMOTE")"
  assert_success
  for ((id = 101; id < 101 + count; id++)); do
    assert_line --regexp "^LINUS_DATA:.*\"id\":$id,\"ip\":\"$(sim_guest_ip "$id")\""
  done
  assert_equal "$(sim_call_count '^pvesh get /nodes/pve/qemu/[0-9]+/agent/network-get-interfaces')" "$count"
  local overlap
  overlap=$(max_agent_overlap)
  ((overlap <= 8)) || fail "$overlap agent calls overlapped (at most 8 allowed)"
  ((overlap >= 2)) || fail "the agent calls ran one at a time ($overlap)"
}

# `pvesh get /nodes/{node}/qemu/{vmid}/config` answers for a VM on any node: pvesh proxies a
# /nodes/{node} path to that node (pve-manager PVE/CLI/pvesh.pm proxy_handler); the description
# comes decoded (qemu-server PVE/QemuServer.pm parse_vm_config).
@test "list --configs TAG reads the config of the VMs with that tag, on every node, in the same run" {
  sim_setup '{"nodes":[{"name":"pve"},{"name":"pve2","bridges":[{"name":"vmbr0","network":"$SIM_NET.200.0/24","gateway":"$SIM_NET.200.1","hostAddress":"$SIM_NET.200.2"}]}]}'
  sim_qm_create 101 web01 'linus;linus-fleet-lab' --description 'linus 0.1.0 run=r1 os=debian-12 user=ada'
  sim_qm_create 102 other 'linus'
  "$SIM_ROOT/sim/host-shell-pve2" -c "qm create 103 --name far --memory 512 --tags 'linus;Linus-Fleet-Lab' --ciuser bob" >/dev/null
  sim_clear_calls
  ops list --configs linus-fleet-lab
  assert_success
  assert_line --regexp '^LINUS_DATA:\{"config":\{.*"description":"linus 0.1.0 run=r1 os=debian-12 user=ada".*"id":101,'
  assert_line --regexp '^LINUS_DATA:\{"config":\{.*"ciuser":"bob".*"id":103,.*"node":"pve2"'
  assert_line --regexp '^LINUS_DATA:\{"cores":.*"id":102,'
  # Only the keys a fleet plan reads (FLEET_CONFIG_KEYS_RE), not the VM's generation ID or digest.
  refute_line --regexp '"vmgenid"|"digest"'
  assert_equal "$(sim_call_count '^pvesh get /nodes/[a-z0-9]+/qemu/[0-9]+/config')" 2
  ops list
  assert_success
  refute_line --regexp '"config":'
  ops list --configs 'bad tag'
  assert_failure
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
  assert_line 'LINUS_ERROR:--configs: bad\ tag is not a valid tag (letters, digits, _ + . -)'
}

# The simulated node has 64 GiB (src/sim/settings.ts memoryBytes).
@test "place holds new VMs to the capacity thresholds: past 90 % only with --force, past 100 % never" {
  sim_setup "$FAST"
  ops place --memory 2048 --disk 8 --count 2
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"nodes":\["pve","pve"\]'
  refute_line --regexp '^LINUS_WARNING:'
  ops place --memory 30000 --count 2
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:CAPACITY_EXCEEDED'
  assert_line --regexp "^LINUS_ERROR:VM 2 of 2 on node pve: the memory of node 'pve' would be 9[0-9.]+ % used"
  ops place --memory 30000 --count 2 --force
  assert_success
  assert_line --regexp "^LINUS_WARNING:VM 2 of 2 on node pve: the memory of node 'pve' will be 9[0-9.]+ % used \\(over 90 %, --force\\)$"
  ops place --memory 40000 --count 2 --force
  assert_failure 10
  assert_line 'LINUS_ERROR_CODE:INSUFFICIENT_MEMORY'
}

@test "place gives the facts of this node for the jobs of the VMs it puts here, and none when they go elsewhere" {
  sim_setup '{"nodes":[{"name":"pve"},{"name":"pve2","bridges":[{"name":"vmbr0","network":"$SIM_NET.200.0/24","gateway":"$SIM_NET.200.1","hostAddress":"$SIM_NET.200.2"}]}]}'
  sim_qm_create 100 one
  ops place --node pve --count 3
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"facts":"node=pve;storage=local-lvm;pve=8\.[0-9]+;storage_type=lvmthin;snippets=;snippets_all=;bridge_type=bridge;bridge_cidr=127\.[0-9.]+/[0-9]+;free_ids=101,102(,[0-9]+){11};seen=[0-9]+"'
  ops place --node pve2 --count 3
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"nodes":\["pve2","pve2","pve2"\]'
  refute_line --partial '"facts"'
}

@test "place finds no node when the only one is offline or lacks the bridge" {
  sim_setup "$FAST"
  ops place --node pve --bridge vmbr9
  assert_failure
  assert_line 'LINUS_ERROR_CODE:BRIDGE_NOT_FOUND'
  sim_faults '{"offlineNodes":["pve"]}'
  ops place
  assert_failure
  assert_line 'LINUS_ERROR_CODE:NODE_NOT_FOUND'
}

@test "place --names numbers a {n} pattern on after the highest number taken, gaps and all; a taken plain name is NAME_CONFLICT" {
  sim_setup "$FAST"
  sim_qm_create 101 dev-1 linus
  sim_qm_create 102 dev-3 linus
  # Not of the pattern: a leading zero, another prefix, a suffix.
  sim_qm_create 103 dev-07
  sim_qm_create 104 xdev-9
  sim_qm_create 105 dev-8x
  ops place --memory 512 --disk 1 --count 2 --names 'dev-{n}'
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"names":\["dev-4","dev-5"\]'
  assert_line --regexp '^LINUS_DATA:.*"nodes":\["pve","pve"\]'
  assert_line --regexp '^LINUS_DATA:\{"existing":\[\{[^{}]*"id":101,[^{}]*"name":"dev-1"[^{}]*\},\{[^{}]*"id":102,[^{}]*\}\],'
  # Every {n} stands for the same number.
  sim_qm_create 106 a5-b5
  sim_qm_create 107 a6-b7
  ops place --memory 512 --disk 1 --count 1 --names 'a{n}-b{n}'
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"names":\["a6-b6"\]'
  ops place --memory 512 --disk 1 --names 'dev-3'
  assert_failure 9
  assert_line 'LINUS_ERROR_CODE:NAME_CONFLICT'
  assert_line "LINUS_ERROR:a VM named 'dev-3' already exists: VMID 102 on node pve"
  ops place --memory 512 --disk 1 --count 2 --names 'Dev_{n}'
  assert_failure 1
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
}

@test "place --names --reuse places only the names not taken and reads the recorded spec of linus VMs only" {
  sim_setup "$FAST"
  sim_qm_create 101 dev-1 'linus;linus-r1' --description 'linus 1.0.0 run=r1abcdef os=ubuntu cores=1 memory=512M disk=1G user=ubuntu ip=dhcp cpu=host upgrade=0 keys=1 password=0'
  sim_qm_create 102 dev-3 '' --description 'not linus'
  sim_clear_calls
  ops place --memory 512 --disk 1 --count 3 --names 'dev-{n}' --reuse
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"names":\["dev-2"\],"nodes":\["pve"\]'
  assert_line --regexp '"id":101,[^}]*"spec":"linus 1.0.0 run=r1abcdef os=ubuntu [^"]*"'
  assert_line --regexp '"id":102,[^}]*"spec":null'
  assert_equal "$(sim_call_count '^pvesh get /nodes/pve/qemu/[0-9]+/config')" 1
  # Everything exists: nothing to place, so no capacity check can refuse the run.
  ops place --memory 900000 --disk 1 --count 1 --names 'dev-1' --reuse
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"names":\[\],"nodes":\[\]'
}
