#!/usr/bin/env bats
# shell/lib/capacity.sh: the thresholds every new VM is held to (provision, clone, placement): past
# 80 % a warning, past 90 % CAPACITY_EXCEEDED unless --force, past 100 % the given code even with
# --force.

load helpers/common

@test "capacity_percent rounds to one decimal; an unknown total is 0" {
  lib_run 'capacity_percent 815 1000; capacity_percent 2 3; capacity_percent 1 2000; capacity_percent 5 0; capacity_percent 3 3'
  assert_success
  assert_output $'81.5\n66.7\n0.1\n0\n100.0'
}

@test "up to 80 % is silent; past 80 % a warning; past 90 % refused unless --force" {
  lib_run 'capacity_verdict "node pve" 80.0 memory 0 INSUFFICIENT_MEMORY; capacity_verdict "node pve" 80 memory 0 INSUFFICIENT_MEMORY'
  assert_success
  assert_output ''
  lib_run 'capacity_verdict "node pve" 80.1 memory 0 INSUFFICIENT_MEMORY'
  assert_success
  assert_line 'LINUS_WARNING:node pve: the memory will be 80.1 % used (over 80 %)'
  lib_run 'capacity_verdict "node pve" 90.0 memory 0 INSUFFICIENT_MEMORY'
  assert_success
  assert_line 'LINUS_WARNING:node pve: the memory will be 90.0 % used (over 80 %)'
  lib_run 'capacity_verdict "node pve" 90.1 memory 0 INSUFFICIENT_MEMORY'
  assert_failure 10
  assert_line 'linus: error [CAPACITY_EXCEEDED]: node pve: the memory would be 90.1 % used (over 90 %); pass --force to go ahead anyway'
  lib_run 'capacity_verdict "node pve" 95 memory 1 INSUFFICIENT_MEMORY'
  assert_success
  assert_line 'LINUS_WARNING:node pve: the memory will be 95 % used (over 90 %, --force)'
}

@test "past 100 % it does not fit, --force or not, with the caller's code" {
  lib_run 'capacity_verdict "storage local-lvm" 100.0 space 0 INSUFFICIENT_STORAGE'
  assert_failure 10
  assert_line --partial '[CAPACITY_EXCEEDED]'
  lib_run 'capacity_verdict "storage local-lvm" 100.1 space 1 INSUFFICIENT_STORAGE'
  assert_failure 10
  assert_line 'linus: error [INSUFFICIENT_STORAGE]: storage local-lvm: the space would be 100.1 % used: it does not fit'
}
