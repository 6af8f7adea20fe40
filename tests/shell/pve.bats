#!/usr/bin/env bats
# shell/lib/pve.sh, the one door to Proxmox, against the simulated host's tools: what a call
# keeps (stdout, stderr, status), the message a failure reports, lock timeouts as their own code,
# and nothing but the four Proxmox tools.

load helpers/common
load helpers/sim

setup() {
  require_sim
  sim_setup "$FAST"
}

@test "a call is logged and keeps stdout, stderr and the status apart" {
  sim_qm_create 100 web
  sim_lib_run 'pve qm config 100; echo "rc=$PVE_RC"; echo "out=${PVE_OUT%%$'"'\n'"'*}"; pve qm config 999; echo "rc=$? $PVE_RC"; echo "err=$PVE_ERR"; echo "out=[$PVE_OUT]"'
  assert_line 'linus: call: qm config 100'
  assert_line 'rc=0'
  assert_line --regexp '^out=[a-z]+: '
  assert_line 'linus: call: qm config 999'
  assert_line 'rc=2 2'
  assert_line "err=Configuration file 'nodes/pve/qemu-server/999.conf' does not exist"
  assert_line 'out=[]'
}

@test "Perl programs decode with JSON::XS as on a Proxmox host, and with core JSON::PP where it is missing" {
  local program='print json_class(), " ", json_new()->canonical->encode({ t => json_true(), f => json_false(), l => decode_json("[1,\"x\"]") }), " ", encode_json(["a"]), "\n"'
  lib_run "perl -e \"\$PERL_JSON\"$(printf %q "$program")"
  assert_success
  assert_output 'JSON::XS {"f":false,"l":[1,"x"],"t":true} ["a"]'
  mkdir -p "$BATS_TEST_TMPDIR/no-xs/JSON"
  echo 'die "JSON::XS is not installed\n";' >"$BATS_TEST_TMPDIR/no-xs/JSON/XS.pm"
  PERL5LIB="$BATS_TEST_TMPDIR/no-xs" lib_run "perl -e \"\$PERL_JSON\"$(printf %q "$program")"
  assert_success
  assert_output 'JSON::PP {"f":false,"l":[1,"x"],"t":true} ["a"]'
}

@test "pve_message is the last stderr line, never qm's usage lines; without stderr the exit status" {
  sim_lib_run 'pve qm create 100 --memory lots; pve_message; pve qm status 100 >/dev/null; PVE_ERR=""; PVE_RC=3; pve_message'
  assert_line 'memory: value does not match the regex pattern'
  refute_line --regexp "^qm create .*OPTIONS"
  assert_line 'exit status 3'
}

@test "a lock that cannot be taken is LOCK_TIMEOUT whatever the caller's code; other failures keep it" {
  sim_qm_create 100 web
  sim_faults '{"heldLock":{"vmid":100,"commands":["start"]}}'
  sim_lib_run 'pve qm start 100 || pve_fail START_FAILED "qm start 100"'
  assert_failure 5
  assert_line --regexp "^linus: error \\[LOCK_TIMEOUT\\]: qm start 100: can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"
  sim_faults '{"startFail":true}'
  sim_lib_run 'pve qm start 100 || pve_fail START_FAILED "qm start 100"'
  assert_failure 5
  assert_line --regexp '^linus: error \[START_FAILED\]: qm start 100: .*QEMU exited with code 1'
}

@test "anything but qm, pvesh, pvesm and pveversion is refused as INTERNAL and never run" {
  sim_lib_run 'pve rm -rf "$WORK_DIR"; echo ran'
  assert_failure 70
  assert_line "linus: error [INTERNAL]: pve: refusing to run 'rm'"
  refute_line ran
  refute_line --partial 'call:'
}
