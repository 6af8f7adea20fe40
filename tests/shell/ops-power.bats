#!/usr/bin/env bats
# vm.sh power logic that the simulator cannot provoke: a guest that ignores the shutdown request.
# The one Proxmox door, pve(), is replaced by a recorded fake (nvm-style seam override).

load helpers/common
load helpers/sim

# Runs `vm.sh power <args>` with pve() answering from a script of canned replies.
run_power() { # <args...>
  run bash -c '
    source "$1"
    pve() {
      printf "%s\n" "$*" >>"$CALLS"
      PVE_ERR="" PVE_OUT="" PVE_RC=0
      case "$*" in
        "pvesh get /cluster/resources"*) PVE_OUT="[{\"type\":\"qemu\",\"vmid\":101,\"node\":\"pve\",\"name\":\"web\",\"status\":\"running\"}]" ;;
        "qm config 101") PVE_OUT=$'"'"'name: web\ncores: 1\ntags: linus;linus-r1'"'"' ;;
        "qm status 101") if grep -qx "qm stop 101" "$CALLS"; then PVE_OUT="status: stopped"; else PVE_OUT="status: running"; fi ;;
        "qm shutdown 101"*) PVE_ERR="VM quit/powerdown failed - got timeout"; PVE_RC=255; return 255 ;;
        "qm stop 101") ;;
        *) echo "unexpected call: $*" >&2; return 1 ;;
      esac
    }
    uname() { echo pve; }; main power "${@:2}"' _ "$ENTRY_OPS" "$@"
}

setup() {
  export CALLS="$BATS_TEST_TMPDIR/calls"
  : >"$CALLS"
}

# A PVE 8.2 host (simulated) with VM 101 of linus running, its config enabling the agent while
# the guest's agent never answers: `qm shutdown` and `qm reboot` send only guest-shutdown and die
# `VM quit/powerdown failed` after the timeout (reference §15.6).
sim_silent_agent_82() {
  require_sim
  sim_setup '{"version":"8.2","bootDelayMs":300,"agentPingTimeoutMs":300}'
  sim_qm_create 101 web 'linus;linus-r1' --agent 1
  sim_host 'qm start 101' >/dev/null || fail "qm start 101 failed"
  sim_faults '{"agent":"never"}'
}

sim_power() { # <args...>
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") power $(printf '%q ' "$@") --remote-dir $(printf '%q' "$SIM_REMOTE")"
}

guest_pid() { # <vmid>
  cat "$SIM_ROOT/var/run/qemu-server/$1.pid"
}

@test "shutdown of a guest that ignores it fails with STATE_TIMEOUT and never stops it without --force" {
  run_power shutdown 101 --timeout 5
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:STATE_TIMEOUT'
  run grep -c '^qm stop' "$CALLS"
  assert_output 0
}

@test "shutdown --force falls back to qm stop after the timeout and reports forced" {
  run_power shutdown 101 --timeout 5 --force
  assert_success
  assert_line --regexp '^LINUS_WARNING:VM 101 did not shut down within 5 s'
  assert_line --regexp '^LINUS_DATA:.*"changed":true.*"forced":true.*"state":"stopped"'
  run cat "$CALLS"
  assert_line 'qm shutdown 101 --timeout 5'
  assert_line 'qm stop 101'
}

@test "a VM on another node is VM_ON_OTHER_NODE naming the node, before any qm call" {
  run bash -c 'source "$1"; pve() { printf "%s\n" "$*" >>"$CALLS"; PVE_OUT="[{\"type\":\"qemu\",\"vmid\":101,\"node\":\"pve2\",\"name\":\"web\"}]"; PVE_ERR=""; }
    uname() { echo pve; }; main power start 101' _ "$ENTRY_OPS"
  assert_failure 17
  assert_line "LINUS_ERROR:VM 101 is on node 'pve2', this is node 'pve'"
  assert_line 'LINUS_ERROR_NODE:pve2'
  run grep -c '^qm ' "$CALLS"
  assert_output 0
}

@test "a VM without the linus tag is VM_NOT_OWNED before any power call, unless --foreign" {
  for extra in "" --foreign; do
    run bash -c 'source "$1"
      pve() {
        printf "%s\n" "$*" >>"$CALLS"
        PVE_ERR="" PVE_RC=0 PVE_OUT=""
        case "$*" in
          "pvesh get /cluster/resources"*) PVE_OUT="[{\"type\":\"qemu\",\"vmid\":101,\"node\":\"pve\",\"name\":\"web\",\"status\":\"stopped\"}]" ;;
          "qm config 101") PVE_OUT="name: web" ;;
          "qm status 101") PVE_OUT="status: stopped" ;;
        esac
      }
      uname() { echo pve; }; main power "${@:2}"' _ "$ENTRY_OPS" stop 101 $extra
    if [[ -z "$extra" ]]; then
      assert_failure 18
      assert_line 'LINUS_ERROR_CODE:VM_NOT_OWNED'
      assert_line --regexp "^LINUS_ERROR:VM 101 'web' was not created by linus"
      run grep -c '^qm status' "$CALLS"
      assert_output 0
    else
      assert_success
      assert_line --regexp '^LINUS_DATA:.*"changed":false'
    fi
  done
}

@test "ownership holds for a VM with many tags after 'linus' (no early-exit pipe under pipefail)" {
  run bash -c 'source "$1"
    VM_CONFIG="tags: linus;$(printf "t%d;" {1..30000})"
    ops_is_linus && echo owned
    VM_CONFIG="tags: linus-r1;$(printf "t%d;" {1..30000})"
    ops_is_linus || echo foreign' _ "$ENTRY_OPS"
  assert_success
  assert_output $'owned\nforeign'
}

@test "hostile VM ids and options are INVALID_SPEC before any Proxmox call" {
  for args in "start 1;id" "start 101 --timeout 1;reboot" "start 101 --bogus 1" "halt 101"; do
    read -ra words <<<"$args"
    run bash -c 'source "$1"; pve() { echo "$*" >>"$CALLS"; }; main power "${@:2}"' _ "$ENTRY_OPS" "${words[@]}"
    assert_failure 1
    assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
  done
  run cat "$CALLS"
  assert_output ''
}

@test "PVE 8.2, agent enabled but silent: shutdown is STATE_TIMEOUT naming --force; --force stops the VM (sim)" {
  sim_silent_agent_82
  sim_power shutdown 101 --timeout 2
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:STATE_TIMEOUT'
  assert_line 'LINUS_ERROR:VM 101 did not shut down within 2 s (pass --force to stop it then)'
  assert_equal "$(sim_running_guests)" 101
  sim_power shutdown 101 --timeout 2 --force
  assert_success
  assert_line 'LINUS_WARNING:VM 101 did not shut down within 2 s: stopping it (--force)'
  assert_line --regexp '^LINUS_DATA:.*"changed":true.*"forced":true.*"op":"shutdown".*"state":"stopped"'
  assert_equal "$(sim_running_guests)" ''
}

@test "PVE 8.2, agent enabled but silent: reboot is STATE_TIMEOUT naming --force; --force stops and starts it (sim)" {
  sim_silent_agent_82
  local before
  before=$(guest_pid 101)
  sim_power reboot 101 --timeout 2
  assert_failure 6
  assert_line 'LINUS_ERROR_CODE:STATE_TIMEOUT'
  assert_line 'LINUS_ERROR:VM 101 did not shut down within 2 s to reboot (pass --force to stop and start it then)'
  assert_equal "$(guest_pid 101)" "$before"
  sim_power reboot 101 --timeout 2 --force
  assert_success
  assert_line 'LINUS_WARNING:VM 101 did not shut down within 2 s to reboot: stopping and starting it (--force)'
  assert_line --regexp '^LINUS_DATA:.*"changed":true.*"forced":true.*"op":"reboot".*"state":"running"'
  assert_equal "$(sim_running_guests)" 101
  [[ "$(guest_pid 101)" != "$before" ]] || fail "the guest was not restarted"
}

@test "ownership by tag holds in any case, order and separator; a near miss is VM_NOT_OWNED (sim)" {
  require_sim
  sim_setup
  sim_qm_create 101 web 'LINUS-r1 Web;Linus'
  sim_qm_create 102 other 'linus-r1,Linusx'
  sim_power start 101
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"changed":true'
  sim_power start 102
  assert_failure 18
  assert_line 'LINUS_ERROR_CODE:VM_NOT_OWNED'
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") list --remote-dir $(printf '%q' "$SIM_REMOTE")"
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"id":101,.*"linus":true'
  assert_line --regexp '^LINUS_DATA:.*"id":102,.*"linus":false'
}
