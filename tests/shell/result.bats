#!/usr/bin/env bats
# shell/lib/result.sh: die and the failure block an entry's EXIT trap writes: each code exits with
# its status and remediation, an unknown code or an exit without die is INTERNAL, and every
# command ends with exactly one final block.

load helpers/common

@test "die exits with its code's status and logs the code; an unknown code is INTERNAL" {
  lib_run 'die NAME_CONFLICT "web01 is VM 100"'
  assert_failure 9
  assert_output 'linus: error [NAME_CONFLICT]: web01 is VM 100'
  lib_run 'die NO_SUCH_CODE "oops"'
  assert_failure 70
  assert_output 'linus: error [INTERNAL]: oops'
}

@test "the failure block carries the code, the message, its remediation and exit status" {
  lib_run 'FAIL_CODE=LOCK_TIMEOUT; FAIL_MSG="VM 100 is locked"; failure_block; end_line'
  assert_output "$(printf '%s\n' LINUS_RESULT:FAILURE LINUS_ERROR_CODE:LOCK_TIMEOUT 'LINUS_ERROR:VM 100 is locked' \
    "LINUS_REMEDIATION:$(grep '^LOCK_TIMEOUT|' "$REPO_ROOT/shell/lib/result.sh" | cut -d'|' -f3)" \
    "LINUS_EXIT:$(grep '^LOCK_TIMEOUT|' "$REPO_ROOT/shell/lib/result.sh" | cut -d'|' -f2)" LINUS_END)"
}

@test "a message is one line of at most 300 characters" {
  lib_run $'die INVALID_SPEC "$(printf "a%.0s" {1..400})\nLINUS_RESULT:SUCCESS"'
  assert_failure 1
  assert_equal "${#lines[@]}" 1
  assert_equal "$output" "linus: error [INVALID_SPEC]: $(printf 'a%.0s' {1..300})"
}

@test "an entry that fails without die (set -e) reports INTERNAL with the status, once" {
  run bash -c 'source "$1"; cmd_version() { false; }; main version' _ "$ENTRY"
  assert_failure 70
  assert_line 'LINUS_ERROR_CODE:INTERNAL'
  assert_line --regexp '^LINUS_ERROR:unexpected exit status 1 \(line [0-9]+ in cmd_version\)$'
  assert_equal "$(grep -c '^LINUS_RESULT:' <<<"$output")" 1
  assert_equal "$(grep -c '^LINUS_END$' <<<"$output")" 1
  assert_equal "${lines[-1]}" LINUS_END
}

@test "a command that wrote its final block adds nothing on exit" {
  run bash "$ENTRY" version
  assert_success
  assert_equal "$(grep -c '^LINUS_END$' <<<"$output")" 1
  refute_line --partial 'LINUS_RESULT:'
}
