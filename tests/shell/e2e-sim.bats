#!/usr/bin/env bats
# The bundled provisioner end to end against the simulated Proxmox VE host (src/sim). Skipped with
# a message when the simulator is not built, and failing instead when CI is set.

load helpers/common
load helpers/sim

setup() {
  require_sim
  sim_setup
  BUNDLE=$(ls "$REPO_ROOT"/dist/provisioners/proxmox-*.sh | head -n 1)
  test_image 2
  SIM_OPTS="--remote-dir $SIM_REMOTE --name e2e01 --disk 8 --ssh-key-b64 $TEST_KEY_B64 --image-url $IMAGE_URL --image-sha256 $IMAGE_SHA --timeout 60"
}

@test "a provision on the simulated host yields a running VM with the requested config" {
  run sim_host "bash $BUNDLE run $SIM_OPTS"
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  run sim_host 'qm config 100'
  assert_line --regexp '^scsi0: .*size=8G'
  assert_line --regexp '^tags: linus;linus-'
}

@test "a failed start on the simulated host leaves no VM behind" {
  echo '{"startFail":true}' >"$SIM_ROOT/sim/faults.json"
  run sim_host "bash $BUNDLE run $SIM_OPTS"
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:START_FAILED'
  run sim_host 'qm list'
  assert_output ''
}
