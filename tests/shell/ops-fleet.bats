#!/usr/bin/env bats
# shell/lib/ops-fleet.sh (vm fleet-state, adopt) on the simulated host: the one read a fleet plan
# makes (the fleet's VMs and the VMs named like them, with their configs and what waits for a
# reboot), and the tagging of an existing VM into a fleet.

load helpers/common
load helpers/sim

# The LINUS_DATA object of VM <vmid> in $output, as compact JSON with sorted keys.
data_of() { # <vmid>
  sed -n 's/^LINUS_DATA://p' <<<"$output" | ID=$1 perl -MJSON::PP -ne '
    my $o = decode_json($_); print JSON::PP->new->canonical->encode($o), "\n" if $o->{id} == $ENV{ID}'
}

@test "fleet-state: the fleet's VMs and the ones named like them, each with its config, in one resources read" {
  sim_setup "$FAST"
  sim_qm_create 101 web01 'linus;linus-r1;linus-fleet-lab' --cores 2 --description 'linus 1.0 run=r1 os=ubuntu-24.04'
  sim_qm_create 102 db01 'prod'
  sim_qm_create 103 other 'linus;linus-fleet-other'
  sim_qm_create 104 web02 'linus;linus-fleet-lab'
  sim_host 'qm start 104 && qm set 104 --cores 4' >/dev/null
  sim_clear_calls
  ops fleet-state --tag linus-fleet-lab --names web01,db01,gone
  assert_success
  assert_equal "$(sed -n 's/^LINUS_DATA://p' <<<"$output" | perl -MJSON::PP -ne 'print decode_json($_)->{id}, "\n"')" $'101\n102\n104'
  ops fleet-state --tag linus-fleet-none --ids 103,999
  assert_success
  assert_equal "$(sed -n 's/^LINUS_DATA://p' <<<"$output" | perl -MJSON::PP -ne 'print decode_json($_)->{id}, "\n"')" 103
  ops fleet-state --tag linus-fleet-lab --names web01,db01,gone
  run data_of 101
  assert_output --regexp '"config":\{.*"cores":"2".*"description":"linus 1.0 run=r1 os=ubuntu-24.04".*"memory":"512".*"net0":"virtio=[0-9A-F:]+,bridge=vmbr0".*"scsi0":"local-lvm:vm-101-disk-0,size=1G".*"tags":"linus;linus-r1;linus-fleet-lab"'
  assert_output --regexp '"name":"web01","node":"pve","pending":\[\],"status":"stopped","tags":\["linus","linus-r1","linus-fleet-lab"\],"type":"qemu"'
  ops fleet-state --tag linus-fleet-lab --names web01,db01,gone
  run data_of 102
  assert_output --regexp '"name":"db01".*"tags":\["prod"\]'
  ops fleet-state --tag linus-fleet-lab --names web01,db01,gone
  # Running with cores changed: the config shows 4 (pending applied), cores waits for the reboot.
  run data_of 104
  assert_output --regexp '"cores":"4".*"pending":\["cores"\],"status":"running"'
  # One /cluster/resources read per call, a config read per VM and a current one for the running VM.
  sim_clear_calls
  ops fleet-state --tag linus-fleet-lab --names web01,db01
  assert_equal "$(sim_call_count '^pvesh get /cluster/resources')" 1
  assert_equal "$(sim_call_count '^pvesh get /nodes/pve/qemu/[0-9]+/config')" 4
  assert_equal "$(sim_call_count '^pvesh get /nodes/pve/qemu/104/config --output-format json --current 1')" 1
  assert_equal "$(sim_call_count '^qm (set|create|destroy|resize|start|stop)')" 0
}

@test "fleet-state refuses a tag that is no fleet's and names that are no VM names, before any call" {
  sim_setup "$FAST"
  ops fleet-state --tag linus-r1
  assert_failure 1
  assert_line --partial '--tag must be linus-fleet-<name>'
  ops fleet-state --tag 'linus-fleet-Lab'
  assert_failure 1
  ops fleet-state --tag linus-fleet-lab --names 'web01,$(reboot)'
  assert_failure 1
  assert_line --partial '--names: every name must be a DNS label'
  ops fleet-state --tag linus-fleet-lab --ids '101,1x'
  assert_failure 1
  assert_equal "$(sim_call_count)" 0
}

@test "adopt tags a foreign VM into the fleet, keeps its own tags, and is idempotent" {
  sim_setup "$FAST"
  sim_qm_create 102 db01 'Prod'
  ops adopt 102 --fleet lab
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"changed":true.*"droppedRuns":\[\].*"fleet":"lab".*"tags":\["linus","linus-fleet-lab","Prod"\]'
  # qm set stores tags as get_unique_tags leaves them (sorted, lowercase by default).
  assert_equal "$(sim_conf 102 | grep '^tags: ')" 'tags: linus;linus-fleet-lab;prod'
  sim_clear_calls
  ops adopt 102 --fleet lab
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"changed":false'
  assert_equal "$(sim_call_count '^qm set')" 0
}

@test "adopt refuses a VM of another fleet, a template and a locked VM, without a write" {
  sim_setup "$FAST"
  sim_qm_create 101 web01 'linus;linus-fleet-other'
  sim_qm_create 102 tmpl ''
  sim_host 'qm template 102' >/dev/null
  sim_qm_create 103 busy ''
  sim_host 'qm set 103 --lock backup' >/dev/null
  sim_clear_calls
  ops adopt 101 --fleet lab
  assert_failure 18
  assert_line "LINUS_ERROR:VM 101 'web01' is in fleet 'other': a VM belongs to one fleet"
  ops adopt 102 --fleet lab
  assert_failure 15
  ops adopt 103 --fleet lab
  assert_failure 13
  ops adopt 101 --fleet 'Lab'
  assert_failure 1
  assert_equal "$(sim_call_count '^qm set')" 0
}
