#!/usr/bin/env bats
# vm delete against the simulated Proxmox VE host: what it removes, with a storage offline.

load helpers/common
load helpers/sim

# qm destroy --destroy-unreferenced-disks 1 activates every storage with images content; one that
# is not online fails it after the referenced disks were freed, leaving the config (§15.7).
@test "delete removes the VM, its disk and cloud-init volume while an NFS storage it does not use is offline" {
  sim_setup
  sim_nfs_storage nfs1
  sim_qm_create 101 web 'linus;linus-r1' --ide2 local-lvm:cloudinit
  sim_faults '{"storageOffline":["nfs1"]}'
  ops delete 101 --yes
  assert_success
  assert_line --regexp '^LINUS_DATA:.*"op":"delete".*"volumes":\["local-lvm:vm-101-cloudinit","local-lvm:vm-101-disk-0"\]'
  assert_equal "$(sim_vms)" ''
  assert_equal "$(sim_volumes)" ''
}
