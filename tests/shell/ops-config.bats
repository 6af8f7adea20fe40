#!/usr/bin/env bats
# shell/lib/ops-config.sh (vm config|set|resize) on the simulated host: what a change does to the
# VM's config, what waits for a reboot, and the refusals; a resize is verified from the config
# because qm resize exits 0 when it fails (qemu-server API2/Qemu.pm resize_vm runs in a worker).

load helpers/common
load helpers/sim

# VM 101 of linus (1 GiB scsi0 on local-lvm), stopped.
linus_vm() {
  sim_setup "$FAST"
  sim_qm_create 101 web 'linus;linus-r1'
}

@test "resize grows by +GiB or to GiB and reads the new size back; the same size changes nothing" {
  linus_vm
  ops resize 101 --size +2
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"beforeBytes":1073741824.*"changed":true.*"sizeBytes":3221225472'
  run sim_conf 101
  assert_line 'scsi0: local-lvm:vm-101-disk-0,size=3G'
  sim_clear_calls
  ops resize 101 --size 3
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"changed":false'
  assert_equal "$(sim_call_count '^qm resize ')" 0
}

@test "resize refuses to shrink, a missing disk and a CD-ROM drive, before qm resize" {
  linus_vm
  sim_host 'qm set 101 --ide2 none,media=cdrom' >/dev/null
  sim_clear_calls
  ops resize 101 --size 0
  assert_failure 1
  ops resize 101 --size +1 --disk scsi3
  assert_failure 1
  assert_line 'LINUS_ERROR:VM 101 has no disk scsi3'
  ops resize 101 --size 5 --disk ide2
  assert_failure 1
  assert_line 'LINUS_ERROR:ide2 of VM 101 is a CD-ROM drive'
  sim_qm_create 102 big 'linus;linus-r1' --scsi1 local-lvm:4
  ops resize 102 --size 2 --disk scsi1
  assert_failure 1
  assert_line --partial 'shrinking a disk is not supported'
  assert_equal "$(sim_call_count '^qm resize ')" 0
}

@test "resizeFail: qm resize exits 0 but the disk stays: RESIZE_FAILED with qm's reason, size unchanged" {
  linus_vm
  sim_faults '{"resizeFail":true}'
  ops resize 101 --size 4
  assert_failure 5
  assert_line 'LINUS_ERROR_CODE:RESIZE_FAILED'
  assert_line --regexp '^LINUS_ERROR:scsi0 of VM 101 is 1073741824 bytes, not 4294967296: .*lvextend.* failed: exit code 5$'
  run sim_conf 101
  assert_line 'scsi0: local-lvm:vm-101-disk-0,size=1G'
}

@test "a resize that cannot take the VM's lock (qm resize exits 0): VM_LOCKED, size unchanged" {
  linus_vm
  sim_faults '{"heldLock":{"commands":["disk resize"]}}'
  ops resize 101 --size 4
  assert_failure 13
  assert_line 'LINUS_ERROR_CODE:VM_LOCKED'
  assert_line --regexp "^LINUS_ERROR:qm resize 101: can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout"
  run sim_conf 101
  assert_line 'scsi0: local-lvm:vm-101-disk-0,size=1G'
}

@test "set on a running VM: the name applies at once, cores and memory wait for the next reboot" {
  linus_vm
  sim_host 'qm start 101' >/dev/null
  ops set 101 --name web2 --cores 2 --memory 1024
  assert_success
  assert_line 'LINUS_WARNING:VM 101 is running: cores and memory take effect at the next reboot'
  assert_line --regexp '^LINUS_DATA:.*"applied":\["name"\].*"changed":true.*"pending":\["cores","memory"\]'
  run sim_conf 101
  assert_line 'name: web2'
  # Proxmox keeps the change in the config's [PENDING] section until the reboot.
  assert_equal "$(sim_conf 101 | sed -n '/^\[PENDING\]/,$p' | grep -E '^(cores|memory): ')" $'cores: 2\nmemory: 1024'
}

@test "set --tags keeps linus' ownership tags; tags starting with linus and bad tags are refused" {
  linus_vm
  ops set 101 --tags 'db;prod'
  assert_success
  run sim_conf 101
  assert_line 'tags: db;linus;linus-r1;prod'
  sim_clear_calls
  ops set 101 --tags 'linus-r9'
  assert_failure 1
  assert_line "LINUS_ERROR:--tags: tags starting with 'linus' are linus' own ownership marks"
  ops set 101 --tags 'a b;c$d'
  assert_failure 1
  assert_line --partial 'is not a valid tag'
  assert_equal "$(sim_call_count '^qm set ')" 0
}

@test "set --description --keep-summary replaces the note after the spec summary and keeps the summary line" {
  linus_vm
  local summary='linus 1.0 run=r1 os=ubuntu-24.04 cores=2 memory=2048M disk=8G user=ubuntu ip=dhcp cpu=host upgrade=0 keys=1 password=0'
  sim_host "qm set 101 --description $(printf '%q' "$summary"$'\nold note')" >/dev/null
  ops set 101 --description 'new note' --keep-summary
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"applied":\["description"\].*"changed":true'
  run sim_host 'qm config 101'
  assert_line "description: $summary%0Anew note"
  # The same note again changes nothing; an empty one leaves the summary alone.
  sim_clear_calls
  ops set 101 --description 'new note' --keep-summary
  assert_line --regexp '^LINUS_DATA:.*"changed":false'
  assert_equal "$(sim_call_count '^qm set')" 0
  ops set 101 --description '' --keep-summary
  run sim_host 'qm config 101'
  assert_line "description: $summary"
  # Without a summary line there is nothing to keep: the note is the whole description.
  sim_host "qm set 101 --description 'by hand'" >/dev/null
  ops set 101 --description 'note' --keep-summary
  run sim_host 'qm config 101'
  assert_line 'description: note'
  ops set 101 --keep-summary --cores 2
  assert_failure 1
  assert_line 'LINUS_ERROR:--keep-summary goes with --description'
}

@test "set --name of another VM is NAME_CONFLICT naming it; a VM linus did not make is VM_NOT_OWNED; nothing is set" {
  linus_vm
  sim_qm_create 102 db
  sim_clear_calls
  ops set 101 --name db
  assert_failure 9
  assert_line "LINUS_ERROR:a VM named 'db' already exists: VMID 102 on node pve"
  ops set 102 --cores 4
  assert_failure 18
  assert_line 'LINUS_ERROR_CODE:VM_NOT_OWNED'
  assert_equal "$(sim_call_count '^qm set ')" 0
  run sim_conf 101
  assert_line 'name: web'
}

@test "config shows the current values and what waits in [PENDING], the description decoded" {
  linus_vm
  sim_host "qm set 101 --description $(printf '%q' 'web server: 50% of traffic')" >/dev/null
  sim_host 'qm start 101' >/dev/null
  sim_host 'qm set 101 --cores 3' >/dev/null
  ops config 101
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"description":"web server: 50% of traffic"'
  assert_line --regexp '^LINUS_DATA:.*"pending":\{"cores":"3"\}'
  assert_line --regexp '^LINUS_DATA:.*"linus":true'
}
