#!/usr/bin/env bash
# linus host-side provisioner for Proxmox VE: turns a verified cloud image into a running VM that
# answers SSH, and reports LINUS_* lines (docs/protocol.md). Runs on the Proxmox host as root.
#
# Usage: proxmox.sh run [options]            start a job and follow it to the end
#        proxmox.sh start [options]          start a detached job, print its run id, return
#        proxmox.sh wait <run-id> [--offset N] [--max-seconds N] [--remote-dir DIR]
#        proxmox.sh cancel <run-id> [--remote-dir DIR]
#        proxmox.sh cleanup <run-id> [--remote-dir DIR]
#        proxmox.sh runs [--remote-dir DIR]
#        proxmox.sh gc [--remote-dir DIR] [--older-than SECONDS] [--dry-run]
#        proxmox.sh version
# The whole file sits in one { } block: bash reads it completely before running any of it, so
# replacing the file on disk cannot change a run in progress.
{
set -euo pipefail
umask 077
export LC_ALL=C

LINUS_VERSION="0.0.0-dev" # linus:version
# The name `version` reports (LINUS_PROVISIONER).
# shellcheck disable=SC2034 # read by the libs (result.sh)
readonly PROVISIONER=proxmox
LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)" # linus:source-only
LINUS_LIBS=(log result proc rules spec pve capacity host image create claim net job gc) # linus:libs
# shellcheck disable=SC1090 # LINUS_LIBS lists them; shellcheck checks shell/lib/*.sh on their own
for lib in "${LINUS_LIBS[@]}"; do source "$LIB_DIR/$lib.sh"; done # linus:source-only

# Where the ERR trap saw the last failing command (for INTERNAL messages).
# shellcheck disable=SC2034 # read by the libs
ERR_WHERE=""

step() { # <name>
  local line
  step_line line PROVISION_STEPS "$1"
  emit STEP "$line"
}

# The provisioning steps. A dry run stops after the ID candidate and prints the writes as
# LINUS_PLAN lines instead of doing them.
provision() { # <dry-run 0|1>
  local dry=$1 job_dir id
  job_dir=$(job_dir_of "${SPEC[remote_dir]}" "${SPEC[run_id]}")

  step validate
  check_tools
  if [[ -n "${SPEC[placed_facts]:-}" ]]; then
    take_placed_facts
  else
    check_pve_version
    check_cluster
    check_bridge
  fi
  plan_address_discovery
  check_ip_free

  step image
  image_resolve
  if ((dry)); then
    if image_cached; then
      image_check_size
    else
      log "would download ${SPEC[image_url]} to $IMG_PATH (disk size checked after download)"
    fi
  else
    image_fetch
    image_check_size
  fi

  step claim
  prepare_cloudinit "$job_dir" "$dry"
  build_create_args "$job_dir" "$LINUS_VERSION"
  if ((dry)); then
    id=${FREE_IDS[0]}
    plan qm create "$id" "${CREATE_ARGS[@]}"
    plan qm resize "$id" scsi0 "${SPEC[disk]}G"
    plan qm config "$id"
    plan qm start "$id"
    if [[ "${SPEC[ip]}" == dhcp ]]; then
      if ((ADDR_AGENT)); then plan qm guest cmd "$id" network-get-interfaces; fi
      [[ -z "$PROBE_CIDR" ]] || log "would probe $PROBE_CIDR and read the neighbour table for the VM's MAC"
    fi
    return 0
  fi
  create_vm

  step create
  resize_disk
  verify_hardware

  step cloudinit
  verify_cloudinit

  step start
  start_vm

  step ip
  start_deadline
  wait_for_ip "$VM_ID" "$VM_MAC"

  step ssh
  wait_for_ssh "$VM_ID" "$VM_MAC"

  step report
}

success_block() {
  emit RESULT SUCCESS
  emit VM_ID "$VM_ID"
  emit VM_IP "$VM_IP"
  emit VM_USER "${SPEC[user]}"
  emit VM_NAME "${SPEC[name]}"
  emit VM_OS "${SPEC[os]}"
  emit VM_CPU "${SPEC[cores]}"
  emit VM_RAM "${SPEC[memory]}"
  emit VM_DISK "${SPEC[disk]}"
  emit VM_NODE "${SPEC[node]}"
}

# shellcheck disable=SC2034 # FAIL_CODE and FAIL_MSG are read by the EXIT trap (result.sh)
on_signal() { # <name>
  FAIL_CODE=CANCELLED
  if [[ -n "$JOB_DIR" && -f "$JOB_DIR/cancel" ]]; then
    FAIL_MSG="cancelled on request (Ctrl-C or linus cancel)"
    log "cancel requested: stopping and rolling back"
  else
    FAIL_MSG="cancelled by SIG$1"
    log "SIG$1 received: stopping and rolling back"
  fi
  exit "${CODE_EXIT[CANCELLED]}"
}

# Every exit passes here: stop local helpers, and unless a final block was written, roll back
# what this run created and write the failure block.
on_exit() {
  local status=$?
  set +e
  trap '' HUP INT TERM
  bg_stop
  image_cleanup
  if ! final_marked; then
    settle_failure "$status"
    rollback
    failure_block | publish_final "$(fail_status)"
    status=$(fail_status)
  fi
  [[ -z "$JOB_DIR" ]] || rm -f -- "$JOB_DIR/sshkeys"
  rm -rf -- "$WORK_DIR"
  exit "$status"
}

# Usage: run [options]
# Description: start + follow in the foreground; INT/TERM cancel the job (it rolls back), HUP
# only detaches (reattach with wait).
cmd_run() {
  _launch "$@"
  follow_job "$(job_dir_of "${SPEC[remote_dir]}" "${SPEC[run_id]}")" 0 "" 1
}

# Usage: start [options]
# Description: start a detached job and return at once; follow it with wait.
cmd_start() {
  _launch "$@"
  local state
  state=$(job_state "$(job_dir_of "${SPEC[remote_dir]}" "${SPEC[run_id]}")")
  emit JOB "${state^^}"
  mark_final
}

# Validates the options and starts the job (a dry run instead ends here).
_launch() { # <option...>
  parse_spec "$@"
  validate_spec
  emit RUN_ID "${SPEC[run_id]}"
  [[ "${SPEC[dry_run]}" == 0 ]] || _dry_run
  job_launch "$SELF" "$@"
}

_dry_run() {
  provision 1
  emit RESULT DRY_RUN
  end_line
  mark_final
  exit 0
}

# The detached job: re-reads its spec, provisions, records the final block.
cmd_job() { # <run-id> <remote-dir>
  local -a args=()
  JOB_DIR=$(job_dir_of "$2" "$1")
  mapfile -d '' args <"$JOB_DIR/spec"
  parse_spec "${args[@]}"
  validate_spec
  provision 0
  success_block | publish_final 0
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
    run) cmd_run "$@" ;;
    start) cmd_start "$@" ;;
    wait) cmd_wait "$@" ;;
    cancel) cmd_cancel "$@" ;;
    cleanup) cmd_cleanup "$@" ;;
    runs) cmd_runs "$@" ;;
    gc) cmd_gc "$@" ;;
    version) cmd_version ;;
    _job) cmd_job "$@" ;;
    *)
      local what
      shown what "$cmd"
      die INVALID_SPEC "unknown command $what (commands: run start wait cancel cleanup runs gc version)"
      ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
}
