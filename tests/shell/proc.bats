#!/usr/bin/env bats
# shell/lib/proc.sh: a long local command runs in the background so a signal is handled at once,
# and whatever an interrupted bg_run left is stopped.

load helpers/common

@test "bg_run returns the command's own status" {
  lib_run 'bg_run bash -c "exit 3"; echo "rc=$?"; bg_run true; echo "rc=$?"'
  assert_output $'rc=3\nrc=0'
}

@test "a TERM during a 30 s nap is handled at once, and bg_stop ends the sleep it left" {
  local start=$SECONDS
  run bash -c 'source "$1"
    trap '"'"'pid=$BG_PID; bg_stop; kill -0 "$pid" 2>/dev/null && echo "sleep $pid alive" || echo "sleep gone"; exit 7'"'"' TERM
    (sleep 0.3; kill -TERM $$) &
    nap 30; echo "nap ended"' _ "$ENTRY"
  assert_failure 7
  assert_output 'sleep gone'
  ((SECONDS - start < 10)) || fail "the TERM waited for the sleep ($((SECONDS - start)) s)"
}
