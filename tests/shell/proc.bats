#!/usr/bin/env bats
# shell/lib/proc.sh: naps on the host's clock (LINUS_TIME_SCALE, set by a simulated host) and
# background commands a signal cuts short.

load helpers/common

# Milliseconds bash took to run <code> with the provisioner's libraries sourced.
elapsed_ms() { # <time scale or ''> <code>
  LINUS_TIME_SCALE=$1 bash -c 'source "$1"; s=$EPOCHREALTIME; eval "$2"; e=$EPOCHREALTIME
    echo $(( (${e/./} - ${s/./}) / 1000 ))' _ "$ENTRY" "$2"
}

@test "a real host's clock: nap sleeps what it is told, graces are whole" {
  local ms
  ms=$(elapsed_ms '' 'nap 0.6')
  ((ms >= 600 && ms < 1500)) || fail "nap 0.6 took $ms ms"
  lib_run 'echo "$AGENT_GRACE $RECHECK_AFTER $(scaled_seconds 1)"'
  assert_output '20 10 1'
}

@test "a simulated host's faster clock shortens naps and graces, never below a second for a grace" {
  local ms
  ms=$(elapsed_ms 0.1 'nap 3')
  ((ms >= 300 && ms < 1200)) || fail "nap 3 at 0.1 took $ms ms"
  run env LINUS_TIME_SCALE=0.1 bash -c 'source "$1"; echo "$TIME_PERMILLE $AGENT_GRACE $RECHECK_AFTER $(scaled_seconds 1)"' _ "$ENTRY"
  assert_output '100 2 1 1'
  run env LINUS_TIME_SCALE=.25 bash -c 'source "$1"; echo "$TIME_PERMILLE $AGENT_GRACE"' _ "$ENTRY"
  assert_output '250 5'
}

@test "a scale that is not a fraction below 1 leaves the real clock" {
  local scale
  for scale in 2 1 abc '0.1; rm -rf /' -0.5 0.0001; do
    run env LINUS_TIME_SCALE="$scale" bash -c 'source "$1"; echo "$TIME_PERMILLE"' _ "$ENTRY"
    assert_output 1000
  done
}

@test "nap refuses what is not a duration" {
  lib_run 'nap 1s'
  assert_line --partial 'nap: not a duration: 1s'
}

@test "a signal cuts a nap short" {
  local start=$EPOCHREALTIME ms
  run bash -c 'source "$1"; trap "bg_stop; echo cut; exit 0" TERM; (sleep 0.3; kill -TERM $$) & nap 10' _ "$ENTRY"
  ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
  assert_output cut
  ((ms < 3000)) || fail "nap 10 was not cut short: $ms ms"
}
