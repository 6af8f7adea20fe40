#!/usr/bin/env bats
# shell/lib/ops-clone.sh (vm.sh run: clone a template as a job) on the simulated host: the clone
# is tagged as linus' and keeps the template's other tags; a taken ID moves the claim on; a failed
# start destroys the clone and never the template.

load helpers/common
load helpers/sim

RID=clone-run1

setup() {
  require_sim
  test_image 2
}

# Template 9000 as an operator makes one: an imported cloud image, cloud-init drive, `qm template`.
template() {
  sim_qm_create 9000 tpl 'base;web' --scsi0 "local-lvm:0,import-from=$IMAGE_FILE" --ide2 local-lvm:cloudinit \
    --boot order=scsi0 --ciuser ubuntu --description 'linus 0.1.0 os=ubuntu-24.04'
  sim_host 'qm template 9000' >/dev/null || fail "qm template 9000 failed"
}

clone() { # [more options]
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") run $(printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" \
    --template 9000 --name c1 --ssh-key-b64 "$TEST_KEY_B64" --timeout 60 "$@") 2>&1"
}

@test "a clone of a template is tagged as linus', keeps the template's tags and reports like a provision" {
  sim_setup "$PREPARED"
  template
  local before
  before=$(sim_conf 9000)
  clone
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
  assert_line 'LINUS_VM_ID:100'
  assert_line 'LINUS_VM_OS:ubuntu-24.04'
  assert_equal "$(linus_value VM_IP)" "$(sim_guest_ip 100)"
  run sim_conf 100
  assert_line "tags: base;linus;linus-$RID;web"
  assert_line 'name: c1'
  assert_equal "$(sim_conf 9000)" "$before"
}

# Two clones of a template with a static address would hold the same address on the LAN.
@test "a template with a static address: the clone takes DHCP and says so; --ip gives it its own" {
  sim_setup "$PREPARED"
  template
  sim_host "qm set 9000 --ipconfig0 ip=$SIM_NET.0.40/24,gw=$SIM_NET.0.1" >/dev/null
  clone
  assert_success
  assert_line "LINUS_WARNING:template 9000 has the static address $SIM_NET.0.40/24: the clone uses DHCP instead (pass --ip for a static address of its own)"
  assert_equal "$(sim_conf 100 | grep '^ipconfig0: ')" 'ipconfig0: ip=dhcp'
  [[ "$(linus_value VM_IP)" != "$SIM_NET.0.40" ]] || fail "the clone took the template's address"
  RID=clone-run2
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") run $(printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" \
    --template 9000 --name c2 --ssh-key-b64 "$TEST_KEY_B64" --timeout 60 --ip "$SIM_NET.0.41/24" --gateway "$SIM_NET.0.1") 2>&1"
  assert_success
  refute_line --partial 'LINUS_WARNING'
  assert_line "LINUS_VM_IP:$SIM_NET.0.41"
}

@test "an ID taken between the resources read and qm clone moves the claim on; the VM that took it is untouched" {
  sim_setup "$PREPARED"
  template
  sim_qm_create 100 foreign
  local before
  before=$(sim_conf 100)
  # A stale vmlist that has the template but not VM 100 yet.
  sim_faults '{"staleVmids":[9000]}'
  clone
  assert_success
  assert_line 'linus: VM ID 100 is taken; trying 101'
  assert_line 'LINUS_VM_ID:101'
  assert_equal "$(sim_conf 100)" "$before"
}

@test "startFail: START_FAILED, the clone is destroyed with its volumes, the template stays" {
  sim_setup "$PREPARED"
  template
  local before
  before=$(sim_conf 9000)
  sim_faults '{"startFail":true}'
  clone
  assert_failed_clean START_FAILED 5 100
  assert_equal "$(sim_vms)" 9000
  assert_equal "$(sim_conf 9000)" "$before"
  assert_equal "$(sim_volumes | cut -d' ' -f1 | sort -u)" 9000
}
