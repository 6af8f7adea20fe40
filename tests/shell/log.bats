#!/usr/bin/env bats
# shell/lib/log.sh: every write is one whole line, so a value can never forge a protocol line;
# argv_text reads back as the same words and never shows a password hash.

load helpers/common

@test "a value with newlines or control characters stays on its one line and cannot forge a LINUS_ line" {
  lib_run $'emit ERROR "bad\nLINUS_RESULT:SUCCESS\r\tend"; log "two\nlines"'
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_line 'LINUS_ERROR:bad LINUS_RESULT:SUCCESS  end'
  assert_line 'linus: two lines'
  refute_line 'LINUS_RESULT:SUCCESS'
}

@test "emit and log cut a value at 4000 characters; one_line at its limit" {
  lib_run 'emit NOTE "$(printf "x%.0s" {1..5000})"; one_line v "abcdef" 3; echo "[$v]"'
  # LINUS_NOTE: is 11 characters.
  assert_equal "${#lines[0]}" 4011
  assert_line '[abc]'
}

@test "warn_line is a log line and a LINUS_WARNING" {
  lib_run 'warn_line "disk almost full"'
  assert_line 'linus: warning: disk almost full'
  assert_line 'LINUS_WARNING:disk almost full'
}

@test "argv_text quotes what bash would split and reads back as the same words" {
  lib_run $'argv_text t qm set 100 --description "it\'s a \\"test\\"; rm -rf /" --tags "a;b" --name web01 "" "$(printf "tab\\there")"; echo "$t"'
  assert_success
  assert_output --partial "qm set 100 --description 'it'\\''s a \"test\"; rm -rf /' --tags 'a;b' --name web01 ''"
  # Read back by bash, the text is the argv again.
  local text=$output
  run bash -c 'eval "set -- $1"; printf "<%s>" "$@"' _ "$text"
  assert_output $'<qm><set><100><--description><it\'s a "test"; rm -rf /><--tags><a;b><--name><web01><><tab\there>'
}

@test "the value after --cipassword is never shown" {
  lib_run 'argv_text t qm set 100 --cipassword "\$5\$salt\$hash" --ciuser ubuntu; echo "$t"'
  assert_output "qm set 100 --cipassword '<hidden>' --ciuser ubuntu"
}
