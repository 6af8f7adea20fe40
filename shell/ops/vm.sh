#!/usr/bin/env bash
# linus host-side VM operations for Proxmox VE (`linus vm ...`, `linus capacity`, `linus doctor`): reports LINUS_*
# lines (docs/protocol.md, docs/vm.md). Runs on a Proxmox node as root; qm acts on this node's VMs.
#
# Usage: vm.sh list [--configs TAG] [--remote-dir DIR]   (--configs: the VMs with TAG show their config)
#        vm.sh capacity [--remote-dir DIR]
#        vm.sh status|config <vmid> [--remote-dir DIR]
#        vm.sh power <start|stop|shutdown|reboot> <vmid> [--timeout N] [--force] [--foreign]
#        vm.sh set <vmid> [--cores N] [--memory MIB] [--name N] [--description T] [--tags T] [--foreign]
#        vm.sh resize <vmid> --size GIB|+GIB [--disk scsi0] [--foreign]
#        vm.sh delete <vmid> --yes [--stop] [--expect-name NAME] [--timeout N] [--foreign]
#        (power, set, resize and delete refuse a VM without the `linus` tag unless --foreign)
#        vm.sh place [--node auto|N] [--storage S] [--bridge B] [--memory MIB] [--disk GIB] [--count N] [--force]
#        vm.sh run [clone options]     clone a template as a job and follow it (like the provisioner)
#        vm.sh wait|cancel|cleanup <run-id> [--remote-dir DIR] ...
#        vm.sh doctor [--node N] [--storage S] [--snippets-storage S] [--bridge B] [--vlan N] [--os OS]
#        vm.sh doctor-fix <storage> --content LIST     the one safe fix doctor offers (docs/doctor.md)
#        vm.sh fleet-state --tag linus-fleet-<name> [--names a,b]   what a fleet plan compares (docs/fleets.md)
#        vm.sh adopt <vmid> --fleet NAME                 tag an existing VM into a fleet (linus import)
#        vm.sh version
# The whole file sits in one { } block, so replacing it never changes a run in progress.
{
set -euo pipefail
# `emit_data ... | ops_success` marks the final block in this shell, not in a subshell.
shopt -s lastpipe
umask 077
export LC_ALL=C

# shellcheck disable=SC2034 # read by the libs
LINUS_VERSION="0.0.0-dev" # linus:version
# The name `version` reports (LINUS_PROVISIONER).
# shellcheck disable=SC2034 # read by the libs (result.sh)
readonly PROVISIONER=vm
LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)" # linus:source-only
LINUS_LIBS=(log result proc rules spec pve capacity host create claim net job gc ops-common ops-power ops-config ops-delete ops-capacity ops-clone ops-doctor ops-fleet) # linus:libs
# shellcheck disable=SC1090 # LINUS_LIBS lists them; shellcheck checks shell/lib/*.sh on their own
for lib in "${LINUS_LIBS[@]}"; do source "$LIB_DIR/$lib.sh"; done # linus:source-only

# shellcheck disable=SC2034 # read by the libs
ERR_WHERE=""

# shellcheck disable=SC2034 # FAIL_CODE and FAIL_MSG are read by the EXIT trap (result.sh)
on_signal() { # <name>
  FAIL_CODE=CANCELLED
  FAIL_MSG="cancelled by SIG$1"
  log "SIG$1 received: stopping${CLONE_ID:+ and rolling back}"
  exit "${CODE_EXIT[CANCELLED]}"
}

# Every exit passes here: unless a final block was written, roll back a clone in progress and
# write the failure block.
on_exit() {
  local status=$?
  set +e
  trap '' HUP INT TERM
  bg_stop
  if ! final_marked; then
    settle_failure "$status"
    clone_rollback
    failure_block | publish_final "$(fail_status)"
    status=$(fail_status)
  fi
  rm -rf -- "$WORK_DIR"
  exit "$status"
}

# Usage: status <vmid> [--remote-dir DIR]
# Description: power state, lock, template and ownership of one VM.
cmd_status() {
  local vmid linus=0 lock
  ops_parse "remote-dir:" "$@"
  ops_vmid vmid
  ops_find_vm "$vmid"
  ops_load_config "$vmid"
  ops_state "$vmid"
  ops_is_linus && linus=1
  lock=$(config_get lock) || lock=""
  local -a fields=("s:op=status" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "s:state=$STATE" "b:linus=$linus")
  fields+=("b:template=$(ops_is_template && echo 1 || echo 0)")
  if [[ -n "$lock" ]]; then fields+=("s:lock=$lock"); else fields+=("z:lock="); fi
  emit_data "${fields[@]}" | ops_success
}

# Usage: run [--run-id ID] [--remote-dir DIR] --template ID --name NAME [--linked] [--storage S]
#            [--user U] [--ssh-key-b64 B64] [--ip dhcp|A.B.C.D/N] [--gateway G] [--timeout N] [--force]
# Description: clone a template as a detached job and follow it (INT/TERM cancel it; HUP detaches).
cmd_run() {
  clone_parse "$@"
  clone_validate
  emit RUN_ID "${SPEC[run_id]}"
  job_launch "$SELF" "$@"
  follow_job "$(job_dir_of "${SPEC[remote_dir]}" "${SPEC[run_id]}")" 0 "" 1
}

cmd_job() { # <run-id> <remote-dir>
  local -a args=()
  JOB_DIR=$(job_dir_of "$2" "$1")
  mapfile -d '' args <"$JOB_DIR/spec"
  clone_parse "${args[@]}"
  clone_validate
  clone_run
  clone_success_block | publish_final 0
  CLONE_ID=""
  mark_final
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  SELF=$(realpath -- "${BASH_SOURCE[0]}")
  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/linus.XXXXXX")
  trap on_exit EXIT
  trap 'on_signal HUP' HUP
  trap 'on_signal INT' INT
  trap 'on_signal TERM' TERM
  set -E
  trap 'ERR_WHERE=" (line $LINENO in ${FUNCNAME[0]:-main})"' ERR
  [[ "$cmd" == _job ]] || protocol_header
  case "$cmd" in
    list) cmd_list "$@" ;;
    capacity) cmd_capacity "$@" ;;
    place) cmd_place "$@" ;;
    status) cmd_status "$@" ;;
    config) cmd_config "$@" ;;
    power) cmd_power "$@" ;;
    set) cmd_set "$@" ;;
    resize) cmd_resize "$@" ;;
    delete) cmd_delete "$@" ;;
    run) cmd_run "$@" ;;
    wait) cmd_wait "$@" ;;
    cancel) cmd_cancel "$@" ;;
    cleanup) cmd_cleanup "$@" ;;
    doctor) cmd_doctor "$@" ;;
    doctor-fix) cmd_doctor_fix "$@" ;;
    fleet-state) cmd_fleet_state "$@" ;;
    adopt) cmd_adopt "$@" ;;
    version) cmd_version ;;
    _job) cmd_job "$@" ;;
    *)
      local what
      shown what "$cmd"
      die INVALID_SPEC "unknown command $what (commands: list capacity place status config power set resize delete run wait cancel cleanup doctor doctor-fix fleet-state adopt version)"
      ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
}
