#!/usr/bin/env bats
# shell/lib/proc.sh: a long local command runs in the background so a signal is handled at once,
# and whatever an interrupted bg_run left is stopped; naps run on the host's clock
# (LINUS_TIME_SCALE, set by a simulated host).

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

# Milliseconds bash took to run <code> with the provisioner's libraries sourced.
elapsed_ms() { # <time scale or ''> <code>
  LINUS_TIME_SCALE=$1 bash -c 'source "$1"; s=$EPOCHREALTIME; eval "$2"; e=$EPOCHREALTIME
    echo $(( (${e/./} - ${s/./}) / 1000 ))' _ "$ENTRY" "$2"
}

@test "a real host's clock: nap sleeps what it is told, graces are whole" {
  local ms
  ms=$(elapsed_ms '' 'nap 0.6')
  ((ms >= 600 && ms < 1500)) || fail "nap 0.6 took $ms ms"
  lib_run 'scaled_seconds one 1; echo "$AGENT_GRACE $RECHECK_AFTER $one"'
  assert_output '20 10 1'
}

@test "a simulated host's faster clock shortens naps and graces, never below a second for a grace" {
  local ms
  ms=$(elapsed_ms 0.1 'nap 3')
  ((ms >= 300 && ms < 1200)) || fail "nap 3 at 0.1 took $ms ms"
  run env LINUS_TIME_SCALE=0.1 bash -c 'source "$1"; scaled_seconds one 1; echo "$TIME_PERMILLE $AGENT_GRACE $RECHECK_AFTER $one"' _ "$ENTRY"
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

@test "nap_or_exit ends when its child exits, reaps it, and leaves no sleep behind; without a child it naps" {
  local ms
  ms=$(elapsed_ms '' 'sleep 0.2 & child=$!; nap_or_exit 30 "$child"')
  ((ms >= 200 && ms < 5000)) || fail "nap_or_exit 30 with a child of 0.2 s took $ms ms"
  run bash -c 'source "$1"; sleep 0.2 & child=$!; nap_or_exit 30 "$child"
    kill -0 "$child" 2>/dev/null && echo "child not reaped" || echo "child reaped"
    sleep 0.1; pgrep -f "^sleep 30.000$" -P $$ >/dev/null && echo "sleep left" || echo "no sleep"' _ "$ENTRY"
  assert_output $'child reaped\nno sleep'
  ms=$(elapsed_ms '' 'sleep 0 & child=$!; wait "$child"; nap_or_exit 0.6 "$child"')
  ((ms >= 600 && ms < 1500)) || fail "nap_or_exit 0.6 without a live child took $ms ms"
}

@test "slurp reads a file as \$(<file) does: the text, its trailing newlines dropped" {
  local dir=$BATS_TEST_TMPDIR
  printf 'a b\n\n  c\t\n\n\n' >"$dir/text"
  printf '\n\n' >"$dir/newlines"
  : >"$dir/empty"
  printf 'last' >"$dir/unterminated"
  lib_run "for f in text newlines empty unterminated; do slurp v \"$dir/\$f\"; [[ \"\$v\" == \"\$(<\"$dir/\$f\")\" ]] || echo \"differs: \$f\"; done; echo \"[\$v]\""
  assert_success
  assert_output '[last]'
}

@test "nap refuses what is not a duration" {
  lib_run 'nap 1s'
  assert_line --partial 'nap: not a duration: 1s'
}
