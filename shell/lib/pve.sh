# shellcheck shell=bash
# The one door to Proxmox. Every qm/pvesh/pvesm/pveversion call goes through pve(), which logs the
# argv as a `linus: call:` line (tests and the bench count them) and keeps the results in
# PVE_OUT, PVE_ERR and PVE_RC.

PVE_OUT=""
PVE_ERR=""
PVE_RC=0
# PID of a call in flight: a signal may interrupt our wait, but the call itself is never killed;
# the rollback waits for it (an interrupted `qm create` must finish before we judge ownership).
PVE_PID=""
# Scratch directory for the captured output (set by the entry).
WORK_DIR=${WORK_DIR:-}

# The Perl start of every program that reads or writes JSON: decode_json, encode_json and
# json_new(), json_true(), json_false() from JSON::XS, which every Proxmox VE host has (qemu-server depends on libjson-xs-perl) and which
# loads in a few ms, else from core JSON::PP (about 25 ms of CPU per program).
# shellcheck disable=SC2034 # read by the libs' Perl programs
readonly PERL_JSON='use strict; use warnings;
BEGIN { eval { require JSON::XS; JSON::XS->import(qw(decode_json encode_json)); 1 } or do { require JSON::PP; JSON::PP->import(qw(decode_json encode_json)) } }
sub json_class { defined &JSON::XS::new ? "JSON::XS" : "JSON::PP" }
sub json_new { json_class()->new }
sub json_true { json_class()->can("true")->() }
sub json_false { json_class()->can("false")->() }
'

# Runs one Proxmox tool; returns its exit status. stdout/stderr are captured, not passed through.
pve() { # <qm|pvesh|pvesm|pveversion> <arg...>
  local text rc=0
  case "$1" in
    qm | pvesh | pvesm | pveversion) ;;
    *) die INTERNAL "pve: refusing to run '$1'" ;;
  esac
  argv_text text "$@"
  log "call: $text"
  "$@" </dev/null >"$WORK_DIR/pve.out" 2>"$WORK_DIR/pve.err" &
  PVE_PID=$!
  wait "$PVE_PID" || rc=$?
  PVE_PID=""
  PVE_RC=$rc
  slurp PVE_OUT "$WORK_DIR/pve.out"
  slurp PVE_ERR "$WORK_DIR/pve.err"
  _log_tool_output "$1" "${2:-}"
  return "$rc"
}

# Worker output (disk allocation, warnings) and any stderr go to the log, a few lines each;
# qemu-img progress lines and JSON answers are left out.
_log_tool_output() { # <tool> <subcommand>
  local line n=0
  if [[ "$1" == qm && "$2" =~ ^(create|resize|start|stop|destroy)$ ]]; then
    while IFS= read -r line; do
      [[ -z "$line" || "$line" == transferred\ * ]] && continue
      ((n++ < 20)) && log "$1: $line"
    done <<<"$PVE_OUT"
  fi
  n=0
  while IFS= read -r line; do
    [[ -z "$line" ]] && continue
    ((n++ < 20)) && log "$1: $line"
  done <<<"$PVE_ERR"
  return 0
}

# The last meaningful stderr line of the last call, for LINUS_ERROR (usage lines are skipped).
pve_message() {
  local line last=""
  while IFS= read -r line; do
    [[ -z "$line" || "$line" =~ ^(qm|pvesh|pvesm)\ .*\[OPTIONS\] ]] && continue
    last=$line
  done <<<"$PVE_ERR"
  echo "${last:-exit status $PVE_RC}"
}

# The error code for a failed call: lock timeouts are their own case, anything else is $1.
pve_fail() { # <CODE> <context>
  local msg
  msg=$(pve_message)
  if [[ "$PVE_ERR" == *"can't lock file"*"got timeout"* || "$PVE_ERR" == *"VM is locked"* ]]; then
    die LOCK_TIMEOUT "$2: $msg"
  fi
  die "$1" "$2: $msg"
}

# A command a dry run would execute, shown exactly as it would run.
plan() { # <arg...>
  local text
  argv_text text "$@"
  emit PLAN "$text"
}
