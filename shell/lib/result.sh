# shellcheck shell=bash
# Stable error codes and the final LINUS blocks. The table is a copy of src/protocol/codes.ts:
# tests/unit/provisioners/codes.test.ts parses it and fails when the two differ.

readonly LINUS_PROTOCOL=1

# <CODE>|<exit code>|<remediation>, read at every start without a subshell.
declare -gA CODE_EXIT=() CODE_REMEDIATION=()
while IFS='|' read -r _code _exit _remedy; do
  CODE_EXIT[$_code]=$_exit
  CODE_REMEDIATION[$_code]=$_remedy
done <<'TABLE'
INVALID_SPEC|1|Fix the named parameter and run again.
MISSING_DEPENDENCY|2|Install the named tool on the Proxmox host (it ships with Proxmox VE).
UNSUPPORTED_PVE|2|Use Proxmox VE 8.0 or newer (8.x or 9.x).
STORAGE_NOT_FOUND|3|Pick a storage listed by 'pvesm status' that is enabled on the node and has 'images' content ('linus doctor' shows each storage's content and the fix for snippets).
BRIDGE_NOT_FOUND|3|Pick a bridge listed by 'pvesh get /nodes/<node>/network --type any_bridge' ('linus doctor' lists them with the node's address on each).
NODE_NOT_FOUND|3|Pick a node listed by 'pvesh get /nodes'.
IP_DISCOVERY_UNAVAILABLE|3|Nothing on this host can tell a DHCP guest's address: run 'linus doctor --fix' (it enables snippets on a dir storage so linus can add the guest agent; 'linus doctor' alone shows why), or give a static --ip A.B.C.D/N --gateway G.
NODE_OFFLINE|4|Bring the node back online or pick another node.
CREATE_FAILED|5|Read the Proxmox message above; fix the storage or configuration it names and run again.
RESIZE_FAILED|5|Check free space on the storage and run again.
START_FAILED|5|Read the Proxmox message above ('qm start' output); check the bridge and the node's resources.
LOCK_TIMEOUT|5|Another task holds the VM lock; wait for it to finish and run again.
ID_CLAIM_EXHAUSTED|5|Many VMs are being created at once; run again.
CLEANUP_FAILED|5|Something linus made could not be removed (the message names it and the command that removes it): fix the cause Proxmox gives, then run 'linus gc --dry-run' and 'linus gc --yes'.
IP_TIMEOUT|6|Install qemu-guest-agent in the image (or enable snippets on a storage so linus can add it: 'linus doctor --fix'), check DHCP on the bridge, or raise --timeout.
SSH_TIMEOUT|6|The VM has an address but port 22 does not answer: check the VLAN, firewall and cloud-init, or raise --timeout.
IMAGE_DOWNLOAD_FAILED|7|Check that the Proxmox host can reach the image URL, or pass --image-url for a mirror.
IMAGE_CHECKSUM_MISMATCH|8|The image does not match its published checksum: check --image-url/--image-sha256 or try a mirror.
NAME_CONFLICT|9|A VM with that name exists: pick another --name, or delete the existing VM.
IP_IN_USE|9|Another machine already answers at that address: pick a free --ip, or find and stop the machine that holds it.
INSUFFICIENT_STORAGE|10|Free space on the storage, pick another --storage, or ask for a smaller --disk.
INSUFFICIENT_MEMORY|10|Free memory on the node, pick another --node, or ask for less --memory.
JOB_NOT_FOUND|11|Check the run id; jobs live under <remote-dir>/jobs on the host that ran them.
JOB_LOST|11|The job was killed before it could roll back: 'linus gc --dry-run' lists what it left and 'linus gc --yes' removes it; then run again.
VM_NOT_FOUND|12|Check the VM ID with 'linus vm list'.
VM_LOCKED|13|A Proxmox task holds the VM (see its lock); wait for it to finish and run again, or clear a stale lock with 'qm unlock <vmid>' on the node.
VM_WRONG_STATE|14|The VM is not in a state that allows this; check 'linus vm status <vmid>'.
VM_PROTECTED|15|The VM has protection enabled: turn it off with 'qm set <vmid> --protection 0' if you really mean it.
VM_IS_TEMPLATE|15|This is a template: clone it with 'linus vm clone <template-id> --name ...' instead.
CONFIRMATION_REQUIRED|16|Pass --yes, or run on a terminal and type the VM's name when asked.
VM_ON_OTHER_NODE|17|qm only acts on the node it runs on: map that node to its address with --node-address <node>=<host>[:port] (see docs/vm.md).
VM_NOT_OWNED|18|linus only changes VMs it created (tag 'linus'): pass --foreign to act on this VM anyway.
VM_OP_FAILED|5|Read the Proxmox message above; fix what it names and run again.
STATE_TIMEOUT|6|The VM did not reach the state in time: raise --timeout, or pass --force to 'linus vm shutdown' / 'linus vm reboot', or use 'linus vm stop'.
CAPACITY_EXCEEDED|10|The node's memory or the storage would be more than 90 % used: free resources, pick another --node/--storage, or pass --force.
CANCELLED|130|The run was cancelled and rolled back; run again when ready.
CONNECTION_FAILED|20|Check --host/--port and that sshd runs on the Proxmox host.
HOST_KEY_MISMATCH|21|The host's SSH key changed. If that is expected, remove the old entry from known_hosts (ssh-keygen -R) and verify the new fingerprint.
HOST_KEY_UNKNOWN|21|Add the host to --known-hosts, pin it with --host-key SHA256:..., or pass --accept-new-host-key once after checking the fingerprint.
AUTH_FAILED|22|Check --user and --identity (or the ssh-agent / LINUS_SSH_PASSWORD).
PROTOCOL_ERROR|23|The host-side output was incomplete or from another linus version; run again, and report it if it persists.
UPLOAD_FAILED|24|Check free space and permissions of the remote directory on the Proxmox host.
CONFIG_INVALID|25|Fix the named setting in the config file or environment.
SANDBOX_FAILED|26|Run 'linus sandbox down' and try again; see docs/simulator.md.
HOST_NOT_READY|27|Run the fix each failed check names ('linus doctor' prints them; 'linus doctor --fix' applies the safe ones), then run 'linus doctor' again.
INTERNAL|70|This is a bug in linus: please report it with the output above.
TABLE
unset _code _exit _remedy

# Set by die (or the signal traps) and read by the EXIT trap that writes the failure block.
FAIL_CODE=""
FAIL_MSG=""
# The node a VM_ON_OTHER_NODE failure names (LINUS_ERROR_NODE): where the command has to run.
FAIL_NODE=""
# A failed run's VM that --keep-on-failure kept (LINUS_VM_KEPT in the failure block).
KEPT_VM=""
# Set once a command has written its final output: the EXIT trap then adds nothing.
FINAL_DONE=0

mark_final() {
  FINAL_DONE=1
}

final_marked() {
  ((FINAL_DONE))
}

# Records a failure and exits with its code; the entry's EXIT trap rolls back and reports.
die() { # <CODE> <message...>
  local code=$1
  [[ -n "${CODE_EXIT[$code]:-}" ]] || code=INTERNAL
  FAIL_CODE=$code
  one_line FAIL_MSG "${*:2}" 300
  log "error [$code]: $FAIL_MSG"
  exit "${CODE_EXIT[$code]}"
}

# VM_ON_OTHER_NODE: the command has to run on node <node>, which the failure block names.
die_other_node() { # <node> <message...>
  FAIL_NODE=$1
  die VM_ON_OTHER_NODE "${@:2}"
}

# Adds what a failed cleanup left behind to the failure message.
fail_note() { # <text>
  log "$1"
  one_line FAIL_MSG "$FAIL_MSG ($1)" 600
}

# The first line of every command's output.
protocol_header() {
  emit PROTOCOL "$LINUS_PROTOCOL"
}

# After an exit without die (set -e, a bug), the failure is INTERNAL with the exit status.
settle_failure() { # <exit status>
  [[ -n "$FAIL_CODE" ]] && return 0
  FAIL_CODE=INTERNAL
  FAIL_MSG="unexpected exit status $1${ERR_WHERE:-}"
}

# The failure block, without LINUS_END (the final writer adds it); FAIL_CODE/FAIL_MSG by default.
failure_block() { # [<CODE> <message>]
  local code=${1:-$FAIL_CODE} msg=${2:-$FAIL_MSG}
  emit RESULT FAILURE
  # The VM this run created, if any (the rollback removed it unless the error says otherwise).
  [[ -z "${VM_ID:-}" ]] || emit VM_ID "$VM_ID"
  emit ERROR_CODE "$code"
  [[ "$code" != VM_ON_OTHER_NODE || -z "$FAIL_NODE" ]] || emit ERROR_NODE "$FAIL_NODE"
  emit ERROR "$msg"
  [[ -z "$KEPT_VM" ]] || emit VM_KEPT "$KEPT_VM"
  emit REMEDIATION "${CODE_REMEDIATION[$code]}"
  emit EXIT "${CODE_EXIT[$code]}"
}

# The last line of a final block.
end_line() {
  printf 'LINUS_END\n'
}

# The exit status that goes with FAIL_CODE.
fail_status() {
  echo "${CODE_EXIT[$FAIL_CODE]}"
}

# Usage: version
# Description: the script's version and name (PROVISIONER), and the body checksum when run from
# a bundle.
cmd_version() {
  local header sum
  emit VERSION "$LINUS_VERSION"
  emit PROVISIONER "$PROVISIONER"
  header=$(sed -n '2p' -- "$SELF")
  if [[ "$header" == "# linus-provisioner "* ]]; then
    sum=$(tail -n +3 -- "$SELF" | sha256sum)
    emit BODY_SHA256 "${sum%% *}"
  fi
  end_line
  mark_final
}
