#!/usr/bin/env bats
# shell/lib/ops-common.sh, the guard clauses and helpers every `vm.sh` operation shares, on the
# simulated host: a VM that is not there, held by a lock or a template; a state that never comes;
# ownership by tag; the typed LINUS_DATA encoder.

load helpers/common
load helpers/sim

setup() {
  require_sim
  sim_setup "$FAST"
}

# Runs <bash code> on the simulated host with vm.sh's sources loaded (as sim_lib_run does for the
# provisioner).
ops_lib_run() { # <bash code>
  run sim_host "$(printf '%q ' bash -c 'source "$1"; WORK_DIR=$(mktemp -d); set +e; eval "$2"' _ "$ENTRY_OPS" "$1")"
}

@test "ops_find_vm: a VM the cluster does not list is VM_NOT_FOUND; a listed one fills VMR" {
  sim_qm_create 101 web 'linus;linus-r1'
  ops_lib_run 'ops_find_vm 101; echo "node=${VMR[node]}"; ops_find_vm 999; echo unreachable'
  assert_failure 12
  assert_line 'node=pve'
  assert_line 'linus: error [VM_NOT_FOUND]: VM 999 does not exist in the cluster'
  refute_line unreachable
}

@test "a VM whose config holds a lock is VM_LOCKED before any change; a template is VM_IS_TEMPLATE" {
  sim_qm_create 101 web 'linus;linus-r1'
  sim_host 'qm set 101 --lock backup' >/dev/null
  ops_lib_run 'ops_load_config 101; ops_refuse_locked 101'
  assert_failure 13
  assert_line 'linus: error [VM_LOCKED]: VM 101 is locked (backup)'
  sim_qm_create 102 tpl 'linus;linus-r1'
  sim_host 'qm template 102' >/dev/null
  ops_lib_run 'ops_load_config 102; ops_refuse_locked 102; ops_refuse_template 102 "templates do not run"'
  assert_line --regexp '^linus: error \[VM_IS_TEMPLATE\]: VM 102 is a template: templates do not run$'
}

@test "ops_fail maps a held lock to VM_LOCKED and a vanished VM to VM_NOT_FOUND, else the caller's code" {
  sim_qm_create 101 web 'linus;linus-r1'
  sim_faults '{"heldLock":{"vmid":101,"commands":["start"]}}'
  ops_lib_run 'pve qm start 101 || ops_fail START_FAILED "qm start 101 failed"'
  assert_failure 13
  assert_line --regexp "^linus: error \\[VM_LOCKED\\]: qm start 101 failed: can't lock file"
  ops_lib_run 'pve qm start 999 || ops_fail START_FAILED "qm start 999 failed"'
  assert_line --regexp '^linus: error \[VM_NOT_FOUND\]: qm start 999 failed: '
  sim_faults '{"startFail":true}'
  ops_lib_run 'pve qm start 101 || ops_fail START_FAILED "qm start 101 failed"'
  assert_line --regexp '^linus: error \[START_FAILED\]: qm start 101 failed: .*QEMU exited with code 1'
}

@test "ops_wait_state gives up with STATE_TIMEOUT naming the state it saw" {
  sim_qm_create 101 web 'linus;linus-r1'
  ops_lib_run 'ops_wait_state 101 running 2'
  assert_failure 6
  assert_line 'linus: error [STATE_TIMEOUT]: VM 101 is stopped, not running, after 2 s'
  # It polled, not judged from one look.
  (($(sim_call_count '^qm status 101$') >= 2)) || fail "qm status was asked $(sim_call_count '^qm status 101$') time(s)"
}

@test "ownership is the tag linus in any case, among others; linus-<run> alone or a near miss is not" {
  local tags
  for tags in 'linus' 'web;LINUS;linus-r1' 'a,Linus'; do
    ops_lib_run "VM_CONFIG='tags: $tags'; ops_is_linus && echo ours"
    assert_output ours
  done
  for tags in 'linus-r1' 'linusx;web' 'xlinus'; do
    ops_lib_run "VM_CONFIG='tags: $tags'; ops_is_linus && echo ours"
    assert_output ''
  done
}

@test "emit_data encodes typed fields as one JSON line; a string stays a string" {
  ops_lib_run $'emit_data "s:name=web \\"01\\"\nx" "n:id=0101" "b:on=1" "b:off=0" "z:gone=" "j:list=[1,\\"a\\"]" "s:num=42"'
  assert_success
  assert_output 'LINUS_DATA:{"gone":null,"id":101,"list":[1,"a"],"name":"web \"01\"\nx","num":"42","off":false,"on":true}'
  ops_lib_run 'emit_data "q:bad=1"'
  assert_failure 70
}
