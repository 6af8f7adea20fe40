# shellcheck shell=bash
# The claim of a VM ID by `qm create`. Proxmox first writes a config holding only `lock: create`
# (create_and_lock_config), then, in a worker holding the VM's flock, allocates the disks and
# writes the full config (with our tags) last; a worker that fails frees its volumes and unlinks
# the config. One that is killed in between (SIGKILL, SIGPIPE after its parent died, a host crash)
# leaves that config and the volumes allocated so far, and nothing names our run on them. So a job
# records the ID in <job dir>/claim before `qm create` runs: "<vmid> <storage> <epoch>", the ID
# /cluster/nextid saw free at <epoch> (after the run started) and the storage its volumes go to.
# The run's rollback and gc remove such a VM only while it is still nothing but that claim.

# Set by claim_check: gone, tagged (carries linus-<run-id>: the create finished), claim (only
# `lock: create`, or nothing once unlocked), other (anything else), unreadable (CLAIM_REASON).
CLAIM_STATE=""
# Set by claim_read.
CLAIM_VMID=""
CLAIM_STORAGE=""
CLAIM_SINCE=""
# Set by claim_remove: the volumes it freed, and why it stopped (a skip reason, or with
# CLAIM_FAILED=1 a failure message).
CLAIM_FREED=()
CLAIM_REASON=""
CLAIM_FAILED=0

# Records the ID this run's `qm create` is about to try (only inside a job). Returns 1, recording
# nothing, when another job of this host is trying that ID or, still running, has created it:
# concurrent runs read the same free IDs, and a second `qm create` of one ID waits on the first
# one's flock for its whole disk import before it learns the ID is taken (reference §3 step 7).
# The check and the write hold one flock.
claim_record() { # <vmid> <storage> <epoch the ID was seen free>
  [[ -n "$JOB_DIR" ]] || return 0
  local jobs=${JOB_DIR%/*} lock_fd file state id rc=0
  # Beside jobs/, which holds nothing but job directories.
  local lock=${jobs%/*}/claims.lock
  exec {lock_fd}>>"$lock"
  flock -w 10 "$lock_fd" || die LOCK_TIMEOUT "cannot lock $lock within 10 s"
  # Builtins only in the loop: a host keeps a directory for every job it ran.
  for file in "$jobs"/*/claim "$jobs"/*/vmid; do
    [[ -f "$file" && "${file%/*}" != "$JOB_DIR" ]] || continue
    if [[ "$file" == */vmid ]]; then
      state=""
      { read -r state <"${file%/*}/state"; } 2>/dev/null || true
      [[ "$state" == running ]] || continue
    fi
    id=""
    read -r id _ <"$file" || true
    [[ "$id" != "$1" ]] || rc=1
  done
  ((rc)) || _write_file "$JOB_DIR/claim" "$1 $2 $3"$'\n'
  exec {lock_fd}>&-
  return "$rc"
}

# Forgets the claim: the create finished (the VM carries our tags), the ID was taken, or what the
# claim left is gone.
claim_clear() { # [job dir]
  local dir=${1:-$JOB_DIR}
  [[ -n "$dir" ]] || return 0
  rm -f -- "$dir/claim"
}

# Reads <job dir>/claim into CLAIM_VMID, CLAIM_STORAGE and CLAIM_SINCE. Returns 1 when there is
# none, and 2 when it is not one this run wrote (malformed, or older than the run).
claim_read() { # <job dir>
  local line started
  [[ -f "$1/claim" ]] || return 1
  line=$(<"$1/claim")
  [[ "$line" =~ ^([1-9][0-9]{2,8})\ ([a-zA-Z][a-zA-Z0-9._-]*[a-zA-Z0-9])\ ([0-9]{1,12})$ ]] || return 2
  # shellcheck disable=SC2034 # read by gc.sh
  CLAIM_VMID=${BASH_REMATCH[1]}
  # shellcheck disable=SC2034 # read by gc.sh
  CLAIM_STORAGE=${BASH_REMATCH[2]}
  CLAIM_SINCE=${BASH_REMATCH[3]}
  # The run's spec is written when it starts: the ID was seen free after that.
  started=$(stat -c %Y -- "$1/spec" 2>/dev/null) || return 2
  ((CLAIM_SINCE >= started)) || return 2
}

# Whether the config in VM_CONFIG is what a killed `qm create` leaves: `lock: create` and nothing
# else, or nothing at all (after `qm unlock`).
_claim_config_bare() {
  [[ -z "$VM_CONFIG" || "$VM_CONFIG" == "lock: create" ]]
}

# Is VM <vmid> still only the claim of run <run-id>? One `qm config`; sets CLAIM_STATE (and
# VM_CONFIG). `qm` reads only this node's configs, where `qm create` made the claim.
claim_check() { # <vmid> <run-id>
  CLAIM_REASON=""
  if ! pve qm config "$1"; then
    if [[ "$PVE_ERR" == *"Configuration file 'nodes/"*"/qemu-server/$1.conf' does not exist"* ]]; then
      CLAIM_STATE=gone
    else
      CLAIM_STATE=unreadable
      CLAIM_REASON=$(pve_message)
    fi
    return 0
  fi
  VM_CONFIG=$PVE_OUT
  if config_has_run_tag "$2"; then
    CLAIM_STATE=tagged
  elif _claim_config_bare; then
    CLAIM_STATE=claim
  else
    # shellcheck disable=SC2034 # read by rollback (create.sh) and gc.sh
    CLAIM_STATE=other
  fi
}

# Removes VM <vmid> after claim_check found it to be only the claim. `qm unlock` takes the VM's
# flock, which a `qm create` still running holds for its whole worker: having to wait for it, or
# timing out, means someone is at work on the VM and it is left alone (create-in-flight). The
# config must then be empty (not-a-claim otherwise). The volumes of that VMID on <storage>
# (vm-<id>-disk-N, vm-<id>-cloudinit: nothing references them) are freed while the config still
# holds the ID, so no new VM can have made volumes of that name meanwhile; `pvesm free` exits 0
# even when it fails, so a second list checks. Last, `qm destroy --skiplock 1 --purge 1`.
# Returns 0 when the VM is gone (CLAIM_REASON `gone` if someone else removed it meanwhile), 1
# otherwise (CLAIM_REASON, CLAIM_FAILED).
claim_remove() { # <vmid> <storage>
  local id=$1 storage=$2 line volid free_err=""
  local -a volids=() left=()
  CLAIM_FREED=()
  CLAIM_REASON=""
  CLAIM_FAILED=0
  if ! pve qm unlock "$id"; then
    if [[ "$PVE_ERR" == *"can't lock file"*"got timeout"* ]]; then
      CLAIM_REASON=create-in-flight
    elif [[ "$PVE_ERR" == *"does not exist"* ]]; then
      log "VM $id is gone already"
      CLAIM_REASON=gone
      return 0
    else
      CLAIM_FAILED=1
      CLAIM_REASON="qm unlock $id failed: $(pve_message)"
    fi
    return 1
  fi
  if [[ "$PVE_ERR" == *"trying to acquire lock"* ]]; then
    CLAIM_REASON=create-in-flight
    return 1
  fi
  if ! pve qm config "$id"; then
    if [[ "$PVE_ERR" == *"does not exist"* ]]; then
      log "VM $id is gone already"
      CLAIM_REASON=gone
      return 0
    fi
    CLAIM_FAILED=1
    CLAIM_REASON="cannot read VM $id: $(pve_message)"
    return 1
  fi
  VM_CONFIG=$PVE_OUT
  if [[ -n "$VM_CONFIG" ]]; then
    CLAIM_REASON=not-a-claim
    return 1
  fi
  _claim_volumes volids "$id" "$storage" || return 1
  for volid in "${volids[@]}"; do
    pve pvesm free "$volid" || true
    [[ -z "$PVE_ERR" ]] || free_err=$(pve_message)
  done
  if ((${#volids[@]})); then
    _claim_volumes left "$id" "$storage" || return 1
    for volid in "${volids[@]}"; do
      [[ " ${left[*]} " == *" $volid "* ]] || CLAIM_FREED+=("$volid")
    done
    if ((${#left[@]})); then
      CLAIM_FAILED=1
      CLAIM_REASON="volume(s) ${left[*]} not freed (${free_err:-still listed}); free them with 'pvesm free <volume>'"
      return 1
    fi
  fi
  if ! pve qm destroy "$id" --skiplock 1 --purge 1; then
    CLAIM_FAILED=1
    CLAIM_REASON="qm destroy $id failed: $(pve_message); remove it with 'qm destroy $id --skiplock 1 --purge 1'"
    return 1
  fi
  line="VM $id (a qm create that never finished) removed"
  ((${#CLAIM_FREED[@]} == 0)) || line+=" with ${CLAIM_FREED[*]}"
  log "$line"
}

# The volumes `qm create <vmid>` allocates on <storage> (disks and the cloud-init drive), from
# `pvesm list`, into the array <var>.
_claim_volumes() { # <var> <vmid> <storage>
  local -n _out=$1
  local id=$2 storage=$3 line volid
  local re="^${storage//./\\.}:($id/)?vm-$id-(disk-[0-9]+|cloudinit)(\\.(raw|qcow2|vmdk))?\$"
  _out=()
  if ! pve pvesm list "$storage" --vmid "$id" --content images; then
    # shellcheck disable=SC2034 # read by rollback (create.sh) and gc.sh
    CLAIM_FAILED=1
    # shellcheck disable=SC2034 # read by rollback (create.sh) and gc.sh
    CLAIM_REASON="cannot list the volumes of VM $id on $storage: $(pve_message)"
    return 1
  fi
  while read -r volid line; do
    [[ "$volid" =~ $re ]] && _out+=("$volid")
  done <<<"$PVE_OUT"
  return 0
}
