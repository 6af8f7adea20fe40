import { z } from 'zod';

// One table for every stable error code: the host-side provisioner (shell/lib/result.sh) and the
// driver share it; tests/unit/protocol/codes.test.ts keeps the shell copy in step.
export const ERROR_CODES = {
  // Provisioner (exit codes 1-11).
  INVALID_SPEC: { exitCode: 1, transient: false, remediation: 'Fix the named parameter and run again.' },
  MISSING_DEPENDENCY: { exitCode: 2, transient: false, remediation: 'Install the named tool on the Proxmox host (it ships with Proxmox VE).' },
  UNSUPPORTED_PVE: { exitCode: 2, transient: false, remediation: 'Use Proxmox VE 8.0 or newer (8.x or 9.x).' },
  STORAGE_NOT_FOUND: { exitCode: 3, transient: false, remediation: "Pick a storage listed by 'pvesm status' that is enabled on the node and has 'images' content ('linus doctor' shows each storage's content and the fix for snippets)." },
  BRIDGE_NOT_FOUND: { exitCode: 3, transient: false, remediation: "Pick a bridge listed by 'pvesh get /nodes/<node>/network --type any_bridge' ('linus doctor' lists them with the node's address on each)." },
  NODE_NOT_FOUND: { exitCode: 3, transient: false, remediation: "Pick a node listed by 'pvesh get /nodes'." },
  IP_DISCOVERY_UNAVAILABLE: { exitCode: 3, transient: false, remediation: "Nothing on this host can tell a DHCP guest's address: run 'linus doctor --fix' (it enables snippets on a dir storage so linus can add the guest agent; 'linus doctor' alone shows why), or give a static --ip A.B.C.D/N --gateway G." },
  NODE_OFFLINE: { exitCode: 4, transient: false, remediation: 'Bring the node back online or pick another node.' },
  CREATE_FAILED: { exitCode: 5, transient: false, remediation: 'Read the Proxmox message above; fix the storage or configuration it names and run again.' },
  RESIZE_FAILED: { exitCode: 5, transient: false, remediation: 'Check free space on the storage and run again.' },
  START_FAILED: { exitCode: 5, transient: false, remediation: "Read the Proxmox message above ('qm start' output); check the bridge and the node's resources." },
  LOCK_TIMEOUT: { exitCode: 5, transient: true, remediation: 'Another task holds the VM lock; wait for it to finish and run again.' },
  ID_CLAIM_EXHAUSTED: { exitCode: 5, transient: true, remediation: 'Many VMs are being created at once; run again.' },
  // A rollback, cleanup or gc could not remove a VM or volume it set out to remove.
  CLEANUP_FAILED: { exitCode: 5, transient: false, remediation: "Something linus made could not be removed (the message names it and the command that removes it): fix the cause Proxmox gives, then run 'linus gc --dry-run' and 'linus gc --yes'." },
  IP_TIMEOUT: { exitCode: 6, transient: false, remediation: "Install qemu-guest-agent in the image (or enable snippets on a storage so linus can add it: 'linus doctor --fix'), check DHCP on the bridge, or raise --timeout." },
  SSH_TIMEOUT: { exitCode: 6, transient: false, remediation: 'The VM has an address but port 22 does not answer: check the VLAN, firewall and cloud-init, or raise --timeout.' },
  IMAGE_DOWNLOAD_FAILED: { exitCode: 7, transient: true, remediation: 'Check that the Proxmox host can reach the image URL, or pass --image-url for a mirror.' },
  IMAGE_CHECKSUM_MISMATCH: { exitCode: 8, transient: false, remediation: 'The image does not match its published checksum: check --image-url/--image-sha256 or try a mirror.' },
  NAME_CONFLICT: { exitCode: 9, transient: false, remediation: 'A VM with that name exists: pick another --name, or delete the existing VM.' },
  IP_IN_USE: { exitCode: 9, transient: false, remediation: 'Another machine already answers at that address: pick a free --ip, or find and stop the machine that holds it.' },
  INSUFFICIENT_STORAGE: { exitCode: 10, transient: false, remediation: 'Free space on the storage, pick another --storage, or ask for a smaller --disk.' },
  INSUFFICIENT_MEMORY: { exitCode: 10, transient: false, remediation: 'Free memory on the node, pick another --node, or ask for less --memory.' },
  JOB_NOT_FOUND: { exitCode: 11, transient: false, remediation: 'Check the run id; jobs live under <remote-dir>/jobs on the host that ran them.' },
  // The host-side job died without recording a result (SIGKILL, out of memory, a host reboot).
  JOB_LOST: { exitCode: 11, transient: false, remediation: "The job was killed before it could roll back: 'linus gc --dry-run' lists what it left and 'linus gc --yes' removes it; then run again." },
  // VM operations (linus vm, capacity, placement).
  VM_NOT_FOUND: { exitCode: 12, transient: false, remediation: "Check the VM ID with 'linus vm list'." },
  VM_LOCKED: { exitCode: 13, transient: false, remediation: "A Proxmox task holds the VM (see its lock); wait for it to finish and run again, or clear a stale lock with 'qm unlock <vmid>' on the node." },
  VM_WRONG_STATE: { exitCode: 14, transient: false, remediation: "The VM is not in a state that allows this; check 'linus vm status <vmid>'." },
  VM_PROTECTED: { exitCode: 15, transient: false, remediation: "The VM has protection enabled: turn it off with 'qm set <vmid> --protection 0' if you really mean it." },
  VM_IS_TEMPLATE: { exitCode: 15, transient: false, remediation: "This is a template: clone it with 'linus vm clone <template-id> --name ...' instead." },
  CONFIRMATION_REQUIRED: { exitCode: 16, transient: false, remediation: "Pass --yes, or run on a terminal and type the VM's name when asked." },
  VM_ON_OTHER_NODE: { exitCode: 17, transient: false, remediation: 'qm only acts on the node it runs on: map that node to its address with --node-address <node>=<host>[:port] (see docs/vm.md).' },
  VM_NOT_OWNED: { exitCode: 18, transient: false, remediation: "linus only changes VMs it created (tag 'linus'): pass --foreign to act on this VM anyway." },
  VM_OP_FAILED: { exitCode: 5, transient: false, remediation: 'Read the Proxmox message above; fix what it names and run again.' },
  STATE_TIMEOUT: { exitCode: 6, transient: false, remediation: "The VM did not reach the state in time: raise --timeout, or pass --force to 'linus vm shutdown' / 'linus vm reboot', or use 'linus vm stop'." },
  CAPACITY_EXCEEDED: { exitCode: 10, transient: false, remediation: "The node's memory or the storage would be more than 90 % used: free resources, pick another --node/--storage, or pass --force." },
  CANCELLED: { exitCode: 130, transient: false, remediation: 'The run was cancelled and rolled back; run again when ready.' },
  // Driver: connection, host key and protocol errors.
  CONNECTION_FAILED: { exitCode: 20, transient: true, remediation: 'Check --host/--port and that sshd runs on the Proxmox host.' },
  HOST_KEY_MISMATCH: { exitCode: 21, transient: false, remediation: "The host's SSH key changed. If that is expected, remove the old entry from known_hosts (ssh-keygen -R) and verify the new fingerprint." },
  HOST_KEY_UNKNOWN: { exitCode: 21, transient: false, remediation: 'Add the host to --known-hosts, pin it with --host-key SHA256:..., or pass --accept-new-host-key once after checking the fingerprint.' },
  AUTH_FAILED: { exitCode: 22, transient: false, remediation: 'Check --user and --identity (or the ssh-agent / LINUS_SSH_PASSWORD).' },
  PROTOCOL_ERROR: { exitCode: 23, transient: false, remediation: 'The host-side output was incomplete or from another linus version; run again, and report it if it persists.' },
  UPLOAD_FAILED: { exitCode: 24, transient: true, remediation: 'Check free space and permissions of the remote directory on the Proxmox host.' },
  CONFIG_INVALID: { exitCode: 25, transient: false, remediation: 'Fix the named setting in the config file or environment.' },
  SANDBOX_FAILED: { exitCode: 26, transient: false, remediation: "Run 'linus sandbox down' and try again; see docs/simulator.md." },
  // linus doctor: a check failed (the checks say which, and what fixes each).
  HOST_NOT_READY: { exitCode: 27, transient: false, remediation: "Run the fix each failed check names ('linus doctor' prints them; 'linus doctor --fix' applies the safe ones), then run 'linus doctor' again." },
  INTERNAL: { exitCode: 70, transient: false, remediation: 'This is a bug in linus: please report it with the output above.' },
} as const satisfies Record<string, { exitCode: number; transient: boolean; remediation: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

// `linus plan --detailed-exitcode` (docs/fleets.md): the plan has changes. 0 means none; an error
// keeps its own code, so this one is outside the error codes above.
export const PLAN_CHANGES_EXIT_CODE = 40;
