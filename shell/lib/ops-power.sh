# shellcheck shell=bash
# vm start|stop|shutdown|reboot: each waits (bounded by --timeout) until the state is reached; a VM
# already in that state is success with changed=false.

_power_result() { # <op> <vmid> <changed 0|1> <forced 0|1>
  emit_data "s:op=$1" "n:id=$2" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "b:changed=$3" "s:state=$STATE" "b:forced=$4" | ops_success
}

# A shutdown (also the one inside `qm reboot`) that the guest did not complete: `VM quit/powerdown
# failed - got timeout`, or on PVE 8.2 with the agent enabled but not running, `VM quit/powerdown
# failed` once guest-shutdown timed out (qemu-server 8.2.4 QemuServer.pm l.6293).
_shutdown_timed_out() {
  [[ "$PVE_ERR" == *"VM quit/powerdown failed"* && "$PVE_ERR" != *"can't lock file"* ]]
}

# Usage: power <start|stop|shutdown|reboot> <vmid> [--timeout SECONDS] [--force] [--foreign] [--remote-dir DIR]
# Description: change the power state and wait for it; --force makes a timed-out shutdown a stop,
# and a reboot whose shutdown timed out a stop and a start.
cmd_power() {
  local action=${1:-} vmid forced=0 rc=0
  (($#)) && shift
  case "$action" in
    start | stop) ops_parse "timeout: foreign remote-dir:" "$@" ;;
    shutdown | reboot) ops_parse "timeout: force foreign remote-dir:" "$@" ;;
    *) die INVALID_SPEC "power action must be start, stop, shutdown or reboot" ;;
  esac
  ops_vmid vmid
  ops_int timeout "$STATE_TIMEOUT_MIN" "$STATE_TIMEOUT_MAX" 60
  ops_find_vm "$vmid"
  ops_load_config "$vmid"
  ops_refuse_foreign "$vmid" "$action"
  ops_state "$vmid"
  case "$action" in
    start)
      ops_refuse_template "$vmid" "templates cannot be started; clone it with 'linus vm clone $vmid'"
      [[ "$STATE" == running ]] && _power_result start "$vmid" 0 0 && return 0
      ops_refuse_locked "$vmid"
      pve qm start "$vmid" || ops_fail START_FAILED "qm start $vmid failed"
      ops_wait_state "$vmid" running "${OPT[timeout]}"
      ;;
    stop)
      [[ "$STATE" == stopped ]] && _power_result stop "$vmid" 0 0 && return 0
      ops_refuse_locked "$vmid"
      pve qm stop "$vmid" --timeout "${OPT[timeout]}" || ops_fail VM_OP_FAILED "qm stop $vmid failed"
      ops_wait_state "$vmid" stopped "${OPT[timeout]}"
      ;;
    shutdown)
      [[ "$STATE" == stopped ]] && _power_result shutdown "$vmid" 0 0 && return 0
      ops_refuse_locked "$vmid"
      pve qm shutdown "$vmid" --timeout "${OPT[timeout]}" || rc=$?
      # Only a shutdown the guest did not complete may fall back to a stop.
      ((rc == 0)) || _shutdown_timed_out || ops_fail VM_OP_FAILED "qm shutdown $vmid failed"
      ((rc != 0)) || ops_state "$vmid"
      if ((rc != 0)) || [[ "$STATE" != stopped ]]; then
        [[ "${OPT[force]:-0}" == 1 ]] ||
          die STATE_TIMEOUT "VM $vmid did not shut down within ${OPT[timeout]} s (pass --force to stop it then)"
        warn_line "VM $vmid did not shut down within ${OPT[timeout]} s: stopping it (--force)"
        forced=1
        pve qm stop "$vmid" || ops_fail VM_OP_FAILED "qm stop $vmid failed"
      fi
      ops_wait_state "$vmid" stopped "${OPT[timeout]}"
      ;;
    reboot)
      ops_refuse_template "$vmid" "templates do not run"
      [[ "$STATE" == running ]] || die VM_WRONG_STATE "VM $vmid is $STATE: reboot needs a running VM (use 'linus vm start $vmid')"
      ops_refuse_locked "$vmid"
      if ! pve qm reboot "$vmid" --timeout "${OPT[timeout]}"; then
        _shutdown_timed_out || ops_fail VM_OP_FAILED "qm reboot $vmid failed"
        [[ "${OPT[force]:-0}" == 1 ]] ||
          die STATE_TIMEOUT "VM $vmid did not shut down within ${OPT[timeout]} s to reboot (pass --force to stop and start it then)"
        warn_line "VM $vmid did not shut down within ${OPT[timeout]} s to reboot: stopping and starting it (--force)"
        forced=1
        pve qm stop "$vmid" || ops_fail VM_OP_FAILED "qm stop $vmid failed"
        pve qm start "$vmid" || ops_fail START_FAILED "qm start $vmid failed"
      fi
      ops_wait_state "$vmid" running "${OPT[timeout]}"
      ;;
  esac
  _power_result "$action" "$vmid" 1 "$forced"
}
