# shellcheck shell=bash
# Long local commands (downloads, hashing, sleeps) run in the background and are waited for, so a
# TERM/INT/HUP is handled at once instead of after the command ends; the EXIT trap kills BG_PID.

BG_PID=""

bg_run() { # <command> <arg...>
  local rc=0
  "$@" &
  BG_PID=$!
  wait "$BG_PID" || rc=$?
  BG_PID=""
  return "$rc"
}

# Sleeps; a signal cuts it short.
nap() { # <seconds>
  bg_run sleep "$1" || true
}

# Stops a local background command left by an interrupted bg_run (never a Proxmox call).
bg_stop() {
  [[ -n "$BG_PID" ]] || return 0
  kill "$BG_PID" 2>/dev/null || true
  wait "$BG_PID" 2>/dev/null || true
  BG_PID=""
}
