#!/usr/bin/env bats
# shell/lib/spec.sh: validation of every option: hostile or malformed values stop with
# INVALID_SPEC before any Proxmox call, and never reach qm; defaults per OS.

load helpers/common

setup() {
  REMOTE="$BATS_TEST_TMPDIR/remote"
  # Any well-formed checksum: nothing here downloads.
  IMAGE_SHA=$(printf 'linus' | sha256sum | cut -d' ' -f1)
}

invalid() { # <option...>
  run bash "$ENTRY" run --remote-dir "$REMOTE" --ssh-key-b64 "$TEST_KEY_B64" "$@"
  assert_failure 1
  assert_line 'LINUS_ERROR_CODE:INVALID_SPEC'
  assert_line 'LINUS_EXIT:1'
  assert_equal "${lines[-1]}" 'LINUS_END'
  # pve() logs every call before it runs the tool: no such line, no Proxmox call.
  refute_line --partial 'linus: call:'
}

@test "hostile names never reach qm" {
  invalid --name 'web01; qm destroy 100'
  assert_line --partial "--name must be a DNS label"
  invalid --name '$(reboot)'
  invalid --name '-vm'
  invalid --name "$(printf 'a%.0s' {1..64})"
  invalid --name $'web\n01'
  # The name is the guest's hostname: lowercase, as the driver asks (src/config/rules.ts).
  invalid --name Web01
  assert_line --partial "--name must be a DNS label: lowercase letters"
  invalid --node 'pve/../x'
  invalid --storage 'local-lvm,import-from=/etc/shadow'
  invalid --bridge 'vmbr0,tag=5'
  invalid --user 'root;id'
  invalid --search-domain 'a..b'
  invalid --remote-dir '/var/lib/../../etc'
  invalid --remote-dir 'relative/dir'
  invalid --run-id 'UPPER-case'
}

@test "fleet marks are checked: a fleet name, Proxmox tags none of them linus', a one-line description" {
  invalid --fleet 'Lab'
  assert_line --partial '--fleet must be lowercase letters, digits and inner hyphens'
  invalid --fleet 'lab;linus'
  invalid --tags 'web;Prod'
  assert_line --partial "--tags: Prod must be a Proxmox tag"
  invalid --tags 'web;linus-r1'
  assert_line --partial "starts with 'linus'"
  invalid --tags 'a b'
  invalid --description $'two\nlines'
  assert_line --partial '--description must be one line'
  lib_run 'parse_spec --password --fleet lab --tags "web;db.1" --description "Web tier"; validate_spec; echo "${SPEC[fleet]} ${SPEC[tags]} ${SPEC[description]}"'
  assert_success
  assert_output 'lab web;db.1 Web tier'
}

@test "numbers must be plain integers in range" {
  invalid --cores 0
  invalid --cores 129
  invalid --cores 2x
  invalid --memory 256
  invalid --memory 010
  invalid --disk 0
  invalid --vlan 4095
  invalid --timeout -1
  invalid --memory 4194305
  # qemu-server's own bound (Memory.pm get_max_mem: 4 TiB), which the driver allows too.
  lib_run 'parse_spec --password --memory 4194304; validate_spec; echo "${SPEC[memory]}"'
  assert_success
  assert_output 4194304
}

@test "network settings are checked" {
  invalid --ip 10.0.0.5
  invalid --ip 10.0.0.256/24
  invalid --ip 10.0.0.5/33
  invalid --gateway 10.0.0.1
  assert_line --partial 'needs a static --ip'
  invalid --ip 10.0.0.5/24 --gateway 10.0.0
  invalid --ip 10.0.0.5/24
  assert_line --partial '--gateway is required with a static --ip'
  invalid --dns '1.1.1.1; rm -rf /'
  invalid --dns '1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4'
}

@test "unknown options, missing values and unknown OSes are INVALID_SPEC" {
  invalid --force
  assert_line "LINUS_ERROR:unknown option --force"
  invalid --name
  assert_line 'LINUS_ERROR:option --name needs a value'
  invalid --os windows-11
  run bash "$ENTRY" frobnicate
  assert_failure 1
  assert_line --partial 'unknown command frobnicate'
}

@test "keys must be base64 OpenSSH public keys; without keys a password must be asked for" {
  run bash "$ENTRY" run --remote-dir "$REMOTE"
  assert_failure 1
  assert_line 'LINUS_ERROR:give --ssh-key-b64 (recommended) or --password'
  invalid --ssh-key-b64 'not base64!'
  invalid --ssh-key-b64 "$(printf 'hello world\n' | base64 -w0)"
  invalid --ssh-key-b64 "$(printf '%s\ncommand="id" ssh-rsa AAAA\n' "$TEST_KEY" | base64 -w0)"
  # DSA: OpenSSH disabled it in 7.0 and dropped it in 9.8, and the driver never sends one.
  invalid --ssh-key-b64 "$(printf 'ssh-dss AAAAB3NzaC1kc3MAAACBAP test\n' | base64 -w0)"
}

@test "an image URL without a checksum is refused: never an unverified image" {
  invalid --image-url https://example.com/x.img
  assert_line --partial 'never uses an unverified image'
  invalid --image-url 'ftp://example.com/x.img' --image-sha256 "$IMAGE_SHA"
  invalid --image-sha256 abc
}

@test "a RHEL 9 family OS on a CPU type without x86-64-v2 is refused before anything is sent to qm" {
  invalid --image-url file:///images/rocky.qcow2 --image-sha256 "$IMAGE_SHA" --os rocky --cpu kvm64
  assert_line --partial 'LINUS_ERROR:--os rocky-9 needs a CPU type with x86-64-v2 (its kernel does not boot on kvm64)'
  invalid --image-url file:///images/ubuntu.qcow2 --image-sha256 "$IMAGE_SHA" --cpu Pentium9
  assert_line --partial 'LINUS_ERROR:--cpu must be a CPU type Proxmox knows'
}

@test "validate_spec fills defaults per OS" {
  lib_run 'parse_spec --ssh-key-b64 "'"$TEST_KEY_B64"'" --os debian-13; validate_spec; declare -p SPEC'
  assert_success
  assert_output --partial '[user]="debian"'
  assert_output --partial '[os]="debian-13"'
  assert_output --partial '[image_url]="https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2"'
  assert_output --partial '[image_sums_url]="https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS"'
  assert_output --regexp '\[name\]="linus-r[0-9]{12}-[0-9a-f]{6}"'
  lib_run 'parse_spec --password --os ubuntu; validate_spec; echo "${SPEC[os]} ${SPEC[user]} ${SPEC[image_sums_url]}"'
  assert_output 'ubuntu-24.04 ubuntu https://cloud-images.ubuntu.com/noble/current/SHA256SUMS'
  lib_run 'parse_spec --password --os rocky-9 --image-sha256 '"$IMAGE_SHA"'; validate_spec; echo "${SPEC[user]} [${SPEC[image_sums_url]}]"'
  assert_output 'rocky []'
}
