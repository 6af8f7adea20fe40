# shellcheck shell=bash
# vm delete: refuses without --yes, templates, protected and locked VMs, and running VMs unless
# --stop; then `qm destroy --purge` removes the volumes its config references (disks, cloud-init,
# unusedN), and the config is read again to prove the VM is gone. No --destroy-unreferenced-disks:
# it would activate every storage and fail half-way on one that is offline (reference §15.7).

# The volumes VM_CONFIG references (disks, cloud-init, unusedN), one volid per line.
_vm_volumes() {
  local line value
  while IFS= read -r line; do
    [[ "$line" == \[* ]] && break
    [[ "$line" =~ ^((scsi|virtio|sata|ide|efidisk|tpmstate)[0-9]+|unused[0-9]+):\ ([^,]+) ]] || continue
    value=${BASH_REMATCH[3]}
    [[ "$value" == *:* && "$value" != none ]] && echo "$value"
  done <<<"$VM_CONFIG"
  return 0
}

# Usage: delete <vmid> --yes [--stop] [--expect-name NAME] [--timeout SECONDS] [--foreign] [--remote-dir DIR]
# Description: destroy the VM with its disks; --expect-name refuses if the VM's name changed since
# the operator confirmed it.
cmd_delete() {
  local vmid stopped=0 value
  local -a volumes=()
  ops_parse "yes stop expect-name: timeout: foreign remote-dir:" "$@"
  ops_vmid vmid
  ops_int timeout "$STATE_TIMEOUT_MIN" "$STATE_TIMEOUT_MAX" 60
  [[ "${OPT[yes]:-0}" == 1 ]] || die CONFIRMATION_REQUIRED "deleting VM $vmid needs --yes"
  ops_find_vm "$vmid"
  ops_load_config "$vmid"
  if [[ -n "${OPT[expect_name]+x}" && "${OPT[expect_name]}" != "${VMR[name]}" ]]; then
    die CONFIRMATION_REQUIRED "VM $vmid is named '${VMR[name]}', not '${OPT[expect_name]}': nothing deleted"
  fi
  ops_refuse_foreign "$vmid" delete
  ops_refuse_template "$vmid" "linus does not delete templates (clones may depend on them); use 'qm destroy $vmid' on the host"
  if value=$(config_get protection) && ops_is_true "$value"; then
    die VM_PROTECTED "VM $vmid has protection enabled: turn it off with 'qm set $vmid --protection 0' first"
  fi
  ops_refuse_locked "$vmid"
  ops_state "$vmid"
  if [[ "$STATE" != stopped ]]; then
    [[ "${OPT[stop]:-0}" == 1 ]] || die VM_WRONG_STATE "VM $vmid is $STATE: stop it first or pass --stop"
    pve qm stop "$vmid" --timeout "${OPT[timeout]}" || ops_fail VM_OP_FAILED "qm stop $vmid failed"
    ops_wait_state "$vmid" stopped "${OPT[timeout]}"
    stopped=1
  fi
  mapfile -t volumes < <(_vm_volumes)
  pve qm destroy "$vmid" --purge 1 || ops_fail VM_OP_FAILED "qm destroy $vmid failed"
  if pve qm config "$vmid"; then
    die VM_OP_FAILED "VM $vmid still exists after qm destroy"
  fi
  [[ "$PVE_ERR" == *"does not exist"* ]] || ops_fail VM_OP_FAILED "cannot confirm that VM $vmid is gone"
  emit_data "s:op=delete" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "b:changed=1" "b:stopped=$stopped" \
    "j:volumes=$(_json_list "${volumes[@]}")" | ops_success
}
