#!/usr/bin/env bats
# shell/lib/claim.sh on the simulated host: what claim_check makes of a VM ID (gone, tagged by
# our run, only the claim a killed `qm create` left, or anyone else's), claim_remove of such a
# leftover, and claim_read refusing a claim file this run did not write.

load helpers/common
load helpers/sim

setup() {
  require_sim
  sim_setup "$FAST"
}

# What `qm create 100` leaves when it is killed mid-import (faults.ts createCrash kill, qemu-server
# API2/Qemu.pm create_vm): a config holding only `lock: create`, and the volumes made so far.
killed_create() {
  sim_faults '{"createCrash":"kill"}'
  test_image 2
  sim_host "qm create 100 --name c --memory 512 --ide2 local-lvm:cloudinit --scsi0 local-lvm:0,import-from=$IMAGE_FILE" >/dev/null 2>&1 &&
    fail "qm create was not killed"
  sim_faults '{}'
  assert_equal "$(sim_conf 100)" 'lock: create'
}

@test "claim_check tells gone, tagged by our run, only our claim, and anyone else's VM apart" {
  sim_qm_create 101 ours 'linus;linus-r1'
  sim_qm_create 102 theirs 'linus;linus-r2'
  killed_create
  sim_lib_run 'for id in 100 101 102 103; do claim_check "$id" r1; echo "$id $CLAIM_STATE"; done'
  assert_line '100 claim'
  assert_line '101 tagged'
  assert_line '102 other'
  assert_line '103 gone'
}

@test "claim_remove frees what a killed qm create left and destroys the claim; a second time it is gone" {
  killed_create
  [[ -n "$(sim_volumes)" ]] || fail "the killed create left no volume: the test proves nothing"
  sim_lib_run 'claim_remove 100 local-lvm; echo "rc=$? [${CLAIM_FREED[*]}]"; claim_remove 100 local-lvm; echo "rc=$? $CLAIM_REASON"'
  assert_line --regexp '^rc=0 \[.*local-lvm:vm-100-disk-0.*\]$'
  assert_line 'rc=0 gone'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
  assert_equal "$(sim_locks)" ''
}

@test "claim_remove leaves a VM that is more than the claim alone" {
  sim_qm_create 100 theirs
  sim_lib_run 'claim_remove 100 local-lvm; echo "rc=$? $CLAIM_FAILED $CLAIM_REASON"'
  assert_line --regexp '^rc=1 0 '
  assert_equal "$(sim_vms)" 100
  assert_equal "$(sim_volumes | cut -d' ' -f1)" 100
}

@test "claim_read: none is 1; a malformed claim or one older than the run's spec is 2" {
  local job="$BATS_TEST_TMPDIR/job"
  mkdir -p "$job"
  touch -d '@2000000000' "$job/spec"
  lib_run "claim_read '$job'; echo \$?"
  assert_output 1
  echo '100 local-lvm 2000000005' >"$job/claim"
  lib_run "claim_read '$job'; echo \"\$? \$CLAIM_VMID \$CLAIM_STORAGE \$CLAIM_SINCE\""
  assert_output '0 100 local-lvm 2000000005'
  echo '100 local-lvm 1999999999' >"$job/claim"
  lib_run "claim_read '$job'; echo \$?"
  assert_output 2
  echo '100 ../etc 2000000005' >"$job/claim"
  lib_run "claim_read '$job'; echo \$?"
  assert_output 2
}
