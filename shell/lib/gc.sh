# shellcheck shell=bash
# Clean-up beyond a job's own rollback. `cleanup <run-id>` removes what one run left behind;
# `gc` finds the leftovers of earlier runs. Both read the VM list once (/cluster/resources), look
# only at VMs tagged `linus` AND `linus-<run-id>`, and destroy a VM only when its run is known not
# to have succeeded (the job directory says so); before destroying they re-read the VM's config
# and check the tag again. A VM whose run is unknown (no job directory) is never destroyed. An
# untagged VM is touched only when it is what a run's killed `qm create` left: the ID its job
# directory claimed, still `lock: create` and nothing else (claim.sh).

readonly GC_DEFAULT_OLDER_THAN=3600
# How long cleanup/gc wait for a cancelled job to roll back and finish.
readonly GC_CANCEL_WAIT=600
# A job directory without a pid file this old never got its process: it is not running.
readonly GC_START_GRACE=60

# One line per linus VM: "<vmid> <node> <status> <run-ids, comma-separated, or ->".
GC_VMS=()
# The /cluster/resources answer GC_VMS was read from.
GC_RESOURCES=""
# Set by _gc_claim_lookup: "<type> <node> <lock or -> <tagged 0|1>" of a claimed ID, or empty.
GC_CLAIM_VM=""
GC_CLEANED=0
GC_SKIPPED=0
# Set by _gc_destroy: 1 when the VM is no longer there (removed now, or gone already).
GC_GONE=0
# VMs that could not be removed, and the first reason.
GC_FAILED=()
GC_FAIL_MSG=""
GC_FAIL_CODE=""

# Options of cleanup (--remote-dir) and gc (--remote-dir, --older-than, --dry-run), into SPEC.
_gc_parse_options() { # <command> <option...>
  local cmd=$1 what
  shift
  SPEC+=([remote_dir]=/var/lib/linus [older_than]=$GC_DEFAULT_OLDER_THAN [dry_run]=0)
  if [[ "$cmd" == gc ]]; then
    parse_options_only SPEC "dry-run remote-dir: older-than:" "$@"
  else
    parse_options_only SPEC "remote-dir:" "$@"
  fi
  need_remote_dir "${SPEC[remote_dir]}"
  shown what "${SPEC[older_than]}"
  _int_in "${SPEC[older_than]}" 0 315360000 || die INVALID_SPEC "--older-than must be a number of seconds from 0 to 315360000, got $what"
}

_gc_check_run_id() { # <run-id>
  local what
  shown what "$1"
  [[ "$1" =~ $RUN_ID_RE ]] || die INVALID_SPEC "run id must match $RUN_ID_RE, got $what"
}

# Reads /cluster/resources JSON (type vm) on stdin; prints "<vmid> <node> <status> <runs>" for
# every VM carrying the tag `linus`, where <runs> lists its valid `linus-<run-id>` tags (or -). A
# fleet VM is judged by its run like any other: a VM `linus import` adopted carries no run tag of
# a run that failed (vm.sh adopt drops it), so gc never takes it for a leftover.
# Tags compare lowercase: Proxmox keeps them as passed on `qm create` and with case-sensitive tags.
_gc_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my $run_re = qr/^[a-z0-9][a-z0-9-]{5,40}$/;
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.-]//g; $v eq "" ? "-" : $v };
my @out;
for my $r (@$res) {
  next unless ref $r eq "HASH" && ($r->{type} // "") eq "qemu";
  my $vmid = $r->{vmid} // "";
  next unless $vmid =~ /^[1-9][0-9]{2,8}$/;
  my @tags = split /[;, ]+/, lc($r->{tags} // "");
  next unless grep { $_ eq "linus" } @tags;
  my @runs;
  for my $tag (@tags) {
    my $id = $tag;
    # linus-fleet-<name> marks a fleet (docs/fleets.md), not a run.
    push @runs, $id if $id =~ s/^linus-// && $id !~ /^fleet-/ && $id =~ $run_re;
  }
  push @out, [$vmid, join(" ", $vmid, $clean->($r->{node}), $clean->($r->{status}), @runs ? join(",", @runs) : "-")];
}
print "$_->[1]\n" for sort { $a->[0] <=> $b->[0] } @out;
PERL
}

# The one read of the VM list: fills GC_VMS.
_gc_read_vms() {
  local out
  pve pvesh get /cluster/resources --type vm --output-format json || pve_fail NODE_NOT_FOUND "cannot read /cluster/resources"
  out=$(perl -e "$(_gc_program)" <<<"$PVE_OUT") || die INTERNAL "cannot parse /cluster/resources"
  GC_VMS=()
  [[ -z "$out" ]] || mapfile -t GC_VMS <<<"$out"
  GC_RESOURCES=$PVE_OUT
}

# Reads /cluster/resources JSON on stdin; prints "<type> <node> <lock or -> <tagged 0|1>" for the
# guest with the VMID given (nothing if there is none).
_gc_claim_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my $vmid = shift;
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.-]//g; $v eq "" ? "-" : $v };
for my $r (@$res) {
  next unless ref $r eq "HASH" && ($r->{type} // "") =~ /^(qemu|lxc)$/ && ($r->{vmid} // "") eq $vmid;
  print join(" ", $r->{type}, $clean->($r->{node}), $clean->($r->{lock}), ($r->{tags} // "") =~ /\S/ ? 1 : 0), "\n";
  last;
}
PERL
}

# What the VM list read by _gc_read_vms says about a claimed ID, into GC_CLAIM_VM.
_gc_claim_lookup() { # <vmid>
  GC_CLAIM_VM=$(perl -e "$(_gc_claim_program)" "$1" <<<"$GC_RESOURCES") || die INTERNAL "cannot parse /cluster/resources"
}

# Forgets a run's claim without making its job directory look younger (its mtime tells gc when
# the run ended).
_gc_claim_clear() { # <dir>
  local mtime
  mtime=$(stat -c %Y -- "$1") || mtime=""
  claim_clear "$1"
  [[ -z "$mtime" ]] || touch -d "@$mtime" -- "$1"
}

# Whether the claim of a run (claim.sh) still names a VM that may be what its killed `qm create`
# left: the guest with that ID is a VM on this node, untagged, and either `lock: create` or
# unlocked. A claim that names nothing (or someone else's guest) is forgotten unless the run is
# running or this is a dry run. Sets CLAIM_VMID and CLAIM_STORAGE.
_gc_claim_pending() { # <dir> <job status>
  local type node lock tagged rc=0
  claim_read "$1" || rc=$?
  ((rc != 1)) || return 1
  if ((rc)); then
    log "job ${1##*/}: its claim file is not one the run wrote; ignored"
    return 1
  fi
  _gc_claim_lookup "$CLAIM_VMID"
  if [[ -n "$GC_CLAIM_VM" ]]; then
    read -r type node lock tagged <<<"$GC_CLAIM_VM"
    [[ "$type" == qemu && "$node" == "$(local_node_name)" && "$tagged" == 0 && "$lock" =~ ^(create|-)$ ]] && return 0
    log "run ${1##*/}'s claim: VM $CLAIM_VMID is not a half-created VM ($type on node $node, lock $lock, tags $tagged)"
  else
    log "run ${1##*/}: its claim on VM $CLAIM_VMID left nothing"
  fi
  [[ "$2" == running ]] || ((SPEC[dry_run])) || _gc_claim_clear "$1"
  return 1
}

# Removes what a run's killed `qm create` left (claim.sh: claim_check, then claim_remove), with
# the same output as _gc_destroy plus LINUS_GC_REMOVED_VOLUME per volume freed. Sets GC_GONE to 1
# when no VM of the run is left under that ID (removed, gone, or not the run's after all).
_gc_claim_destroy() { # <dir> <vmid> <storage> <gone-is-cleaned 0|1>
  local dir=$1 vmid=$2 storage=$3 volid
  GC_GONE=0
  claim_check "$vmid" "${dir##*/}"
  case "$CLAIM_STATE" in
    gone)
      if (($4)); then
        log "VM $vmid was removed by its job's rollback"
        emit CLEANED "$vmid"
        GC_CLEANED=$((GC_CLEANED + 1))
      else
        log "VM $vmid is gone already"
      fi
      _gc_claim_clear "$dir"
      GC_GONE=1
      ;;
    unreadable) _gc_failed "$vmid" "cannot read its config: $CLAIM_REASON" ;;
    tagged) log "VM $vmid carries the tag of run ${dir##*/}: its qm create finished" ;;
    other)
      _gc_skip "$vmid" not-a-claim
      _gc_claim_clear "$dir"
      GC_GONE=1
      ;;
    claim)
      if claim_remove "$vmid" "$storage"; then
        for volid in "${CLAIM_FREED[@]}"; do emit GC_REMOVED_VOLUME "$volid"; done
        if [[ "$CLAIM_REASON" != gone ]]; then
          emit CLEANED "$vmid"
          GC_CLEANED=$((GC_CLEANED + 1))
        fi
        _gc_claim_clear "$dir"
        GC_GONE=1
        return 0
      fi
      for volid in "${CLAIM_FREED[@]}"; do emit GC_REMOVED_VOLUME "$volid"; done
      if ((CLAIM_FAILED)); then
        _gc_failed "$vmid" "$CLAIM_REASON"
      else
        _gc_skip "$vmid" "$CLAIM_REASON"
        if [[ "$CLAIM_REASON" == not-a-claim ]]; then
          _gc_claim_clear "$dir"
          GC_GONE=1
        fi
      fi
      ;;
  esac
}

# Whether the job process runs: its pid is alive, or it has no pid file yet and is young.
_gc_job_alive() { # <dir>
  if [[ -f "$1/pid" ]]; then
    job_alive "$1"
    return
  fi
  (($(_gc_age "$1") < GC_START_GRACE))
}

# What the job directory says about a run: missing, success, failed, cancelled, died (no process
# and no result) or running.
_gc_job_status() { # <dir>
  local state
  if [[ ! -f "$1/state" ]]; then
    echo missing
    return 0
  fi
  state=$(<"$1/state")
  if [[ "$state" == finished ]]; then
    if grep -qx 'LINUS_RESULT:SUCCESS' "$1/result" 2>/dev/null; then
      echo success
    elif grep -qx 'LINUS_ERROR_CODE:CANCELLED' "$1/result" 2>/dev/null; then
      echo cancelled
    else
      echo failed
    fi
  elif _gc_job_alive "$1"; then
    echo running
  else
    echo died
  fi
}

# Seconds since <path> was last modified (a job directory changes when the job starts and when
# it finishes).
_gc_age() { # <path>
  local mtime
  mtime=$(stat -c %Y -- "$1") || mtime=0
  echo $(($(date +%s) - mtime))
}

# Records a job that died without a result as finished (JOB_LOST), as `wait` does.
_gc_settle_died() { # <dir>
  log "job ${1##*/} ended without a result: recording it as failed"
  _job_vanished "$1"
}

# Cancels a running job and waits (bounded) until it has rolled back and finished. Returns 1 if
# it still runs.
_gc_stop_job() { # <dir>
  local dir=$1 i
  log "job ${dir##*/} is still running: cancelling it (it rolls back its own VM)"
  job_cancel "$dir"
  for ((i = 0; i < GC_CANCEL_WAIT * 2; i++)); do
    case "$(_gc_job_status "$dir")" in
      running) nap 0.5 ;;
      died)
        _gc_settle_died "$dir"
        return 0
        ;;
      *) return 0 ;;
    esac
  done
  return 1
}

_gc_skip() { # <vmid> <reason>
  emit GC_SKIP "$1:$2"
  GC_SKIPPED=$((GC_SKIPPED + 1))
}

_gc_failed() { # <vmid> <message>
  log "VM $1 was not removed: $2"
  GC_FAILED+=("$1")
  if [[ -z "$GC_FAIL_CODE" ]]; then
    GC_FAIL_MSG="VM $1 was not removed: $2"
    GC_FAIL_CODE=CLEANUP_FAILED
    [[ "$PVE_ERR" != *"can't lock file"*"got timeout"* && "$PVE_ERR" != *"VM is locked"* ]] || GC_FAIL_CODE=LOCK_TIMEOUT
  fi
}

# Whether VM_CONFIG carries the tags `linus` and `linus-<run-id>` (in any case).
_gc_config_tagged() { # <run-id>
  local tags tag linus=0 run=0
  local -a list=()
  tags=$(config_get tags) || return 1
  read -ra list <<<"${tags//[;,]/ }"
  for tag in "${list[@],,}"; do
    [[ "$tag" == linus ]] && linus=1
    [[ "$tag" == "linus-$1" ]] && run=1
  done
  ((linus && run))
}

# Destroys one VM of a run that did not succeed, after re-reading its config (one `qm config`):
# the tag must still be there, no lock (a task such as `qm create` may be running on it), no
# protection, not a template; with <min-age>, the VM must be at least that old (meta ctime).
# Stops it first unless the VM list said stopped; `qm destroy --purge` frees the volumes the config
# references (all linus makes). Prints LINUS_CLEANED:<vmid>. A VM that is gone
# by now counts as cleaned when <gone-is-cleaned> is 1 (the rollback of a job we cancelled).
_gc_destroy() { # <vmid> <node> <run-id> <status> <min-age or ""> <gone-is-cleaned 0|1>
  local vmid=$1 node=$2 run_id=$3 status=$4 min_age=$5 value age
  GC_GONE=0
  if ! pve qm config "$vmid"; then
    # qm reads only this node's configs: the message names this node.
    if [[ "$PVE_ERR" =~ Configuration\ file\ \'nodes/([^/\']+)/qemu-server/[0-9]+\.conf\'\ does\ not\ exist ]]; then
      if [[ "${BASH_REMATCH[1]}" != "$node" ]]; then
        _gc_skip "$vmid" "on-node-$node"
      elif (($6)); then
        log "VM $vmid was removed by its job's rollback"
        emit CLEANED "$vmid"
        GC_CLEANED=$((GC_CLEANED + 1))
        GC_GONE=1
      else
        log "VM $vmid is gone already"
        GC_GONE=1
      fi
      return 0
    fi
    _gc_failed "$vmid" "cannot read its config: $(pve_message)"
    return 0
  fi
  # shellcheck disable=SC2034 # read by config_get (create.sh)
  VM_CONFIG=$PVE_OUT
  if ! _gc_config_tagged "$run_id"; then
    _gc_skip "$vmid" tag-changed
    return 0
  fi
  if value=$(config_get lock); then
    _gc_skip "$vmid" "locked-${value//[^a-z-]/}"
    return 0
  fi
  if value=$(config_get protection) && [[ "${value,,}" =~ ^(1|on|yes|true)$ ]]; then
    _gc_skip "$vmid" protected
    return 0
  fi
  if value=$(config_get template) && [[ "${value,,}" =~ ^(1|on|yes|true)$ ]]; then
    _gc_skip "$vmid" template
    return 0
  fi
  if value=$(config_get meta) && [[ ",$value," =~ ,ctime=([0-9]+), ]]; then
    age=$(($(date +%s) - BASH_REMATCH[1]))
    log "VM $vmid of run $run_id was created $age s ago"
    if [[ -n "$min_age" ]] && ((age < min_age)); then
      _gc_skip "$vmid" young
      return 0
    fi
  fi
  if [[ "$status" != stopped ]] && ! pve qm stop "$vmid"; then
    log "qm stop $vmid failed: $(pve_message)"
  fi
  if ! pve qm destroy "$vmid" --purge 1; then
    if [[ "$PVE_ERR" != *"is running - destroy failed"* ]] || ! pve qm stop "$vmid" ||
      ! pve qm destroy "$vmid" --purge 1; then
      _gc_failed "$vmid" "$(pve_message); remove it with 'qm destroy $vmid --purge 1'"
      return 0
    fi
  fi
  log "VM $vmid of run $run_id and its volumes removed"
  emit CLEANED "$vmid"
  GC_CLEANED=$((GC_CLEANED + 1))
  GC_GONE=1
}

# Dies when a destroy failed (LOCK_TIMEOUT for a lock, else CLEANUP_FAILED), after the others ran.
_gc_settle() {
  ((${#GC_FAILED[@]} == 0)) && return 0
  die "$GC_FAIL_CODE" "${#GC_FAILED[@]} VM(s) not removed (${GC_FAILED[*]}): $GC_FAIL_MSG"
}

# Usage: cleanup <run-id> [--remote-dir DIR]
# Description: destroy the VMs tagged linus-<run-id> unless the run finished with SUCCESS; a
# running job is cancelled first (its own rollback runs). Idempotent.
cmd_cleanup() {
  local run_id=${1:-} dir status line vmid node vm_status runs
  local -a unknown=()
  (($#)) && shift
  _gc_parse_options cleanup "$@"
  _gc_check_run_id "$run_id"
  emit RUN_ID "$run_id"
  dir=$(job_dir_of "${SPEC[remote_dir]}" "$run_id")
  status=$(_gc_job_status "$dir")
  if [[ "$status" == running ]]; then
    _gc_stop_job "$dir" || die INTERNAL "job $run_id still runs ${GC_CANCEL_WAIT} s after it was cancelled"
    status=$(_gc_job_status "$dir")
  fi
  if [[ "$status" == died ]]; then
    _gc_settle_died "$dir"
    status=failed
  fi
  log "run $run_id: job ${status}"
  _gc_read_vms
  for line in "${GC_VMS[@]}"; do
    read -r vmid node vm_status runs <<<"$line"
    [[ ",$runs," == *",$run_id,"* ]] || continue
    case "$status" in
      success) log "VM $vmid belongs to run $run_id, which succeeded: left alone" ;;
      missing)
        _gc_skip "$vmid" no-job-dir
        unknown+=("$vmid")
        ;;
      *)
        if [[ "$runs" == *,* ]]; then
          _gc_skip "$vmid" several-run-tags
        else
          _gc_destroy "$vmid" "$node" "$run_id" "$vm_status" "" 0
        fi
        ;;
    esac
  done
  if [[ "$status" != success && "$status" != missing ]] && _gc_claim_pending "$dir" "$status"; then
    _gc_claim_destroy "$dir" "$CLAIM_VMID" "$CLAIM_STORAGE" 0
  fi
  _gc_settle
  ((${#unknown[@]} == 0)) ||
    die JOB_NOT_FOUND "VM(s) ${unknown[*]} are tagged linus-$run_id but there is no job $run_id under ${SPEC[remote_dir]}/jobs: left alone"
  emit RESULT SUCCESS
  emit CLEANED_COUNT "$GC_CLEANED"
  emit GC_SKIPPED "$GC_SKIPPED"
  end_line
  mark_final
}

# Removes job directories of finished runs older than --older-than whose run has no VM left (a
# job directory is how gc knows a VM's run: it stays while the VM exists). Never a running job.
_gc_jobs() { # <run ids with a VM left, space-separated>
  local keep=" $1 " dir id status
  for dir in "${SPEC[remote_dir]}"/jobs/*/; do
    dir=${dir%/}
    id=${dir##*/}
    [[ -d "$dir" && "$id" =~ $RUN_ID_RE ]] || continue
    status=$(_gc_job_status "$dir")
    case "$status" in
      running | missing) continue ;;
      died)
        ((SPEC[dry_run])) || _gc_settle_died "$dir"
        continue
        ;;
    esac
    [[ "$keep" != *" $id "* ]] || continue
    (($(_gc_age "$dir") >= SPEC[older_than])) || continue
    emit GC_STALE_JOB "$id"
    ((SPEC[dry_run])) && continue
    rm -rf -- "$dir"
    emit GC_REMOVED_JOB "$id"
  done
}

# Removes partial downloads (<remote-dir>/images/.<hash>.<pid>.part) older than --older-than,
# only while no download holds the images directory's lock.
_gc_partials() {
  local dir="${SPEC[remote_dir]}/images" file name fd
  [[ -d "$dir" ]] || return 0
  exec {fd}<"$dir"
  if ! flock -n "$fd"; then
    log "a download into $dir is in progress: partial files left alone"
    exec {fd}<&-
    return 0
  fi
  for file in "$dir"/.*.part; do
    name=${file##*/}
    [[ -f "$file" && "$name" =~ ^\.[0-9a-f]{64,128}\.[0-9]+\.part$ ]] || continue
    (($(_gc_age "$file") >= SPEC[older_than])) || continue
    emit GC_STALE_PARTIAL "$name"
    ((SPEC[dry_run])) && continue
    rm -f -- "$file"
    emit GC_REMOVED_PARTIAL "$name"
  done
  exec {fd}<&-
}

# Usage: gc [--remote-dir DIR] [--older-than SECONDS] [--dry-run]
# Description: find linus VMs whose run did not succeed and destroy them (candidates), and the
# half-created VMs of such runs' killed `qm create` (with their volumes); skip VMs of unknown runs;
# remove old finished job directories and partial downloads.
cmd_gc() {
  local line vmid node vm_status runs dir status reason age storage candidates=0 left=""
  local -a todo=()
  _gc_parse_options gc "$@"
  _gc_read_vms
  for line in "${GC_VMS[@]}"; do
    read -r vmid node vm_status runs <<<"$line"
    if [[ "$runs" == - ]]; then
      _gc_skip "$vmid" no-run-tag
      continue
    fi
    if [[ "$runs" == *,* ]]; then
      _gc_skip "$vmid" several-run-tags
      continue
    fi
    dir=$(job_dir_of "${SPEC[remote_dir]}" "$runs")
    status=$(_gc_job_status "$dir")
    case "$status" in
      missing)
        _gc_skip "$vmid" no-job-dir
        left+=" $runs"
        continue
        ;;
      success)
        log "VM $vmid: run $runs succeeded"
        left+=" $runs"
        continue
        ;;
      failed | cancelled | died)
        # The job directory last changed when the run ended (or started, for a dead job).
        age=$(_gc_age "$dir")
        if ((age < SPEC[older_than])); then
          _gc_skip "$vmid" young
          left+=" $runs"
          continue
        fi
        reason=$status
        [[ "$status" != died ]] || reason=job-died
        ;;
      running)
        age=$(_gc_age "$dir")
        if ((age < SPEC[older_than])); then
          log "VM $vmid: run $runs is running for $age s"
          _gc_skip "$vmid" running
          left+=" $runs"
          continue
        fi
        reason=running-too-long
        ;;
    esac
    emit GC_CANDIDATE "$vmid:$runs:$reason"
    candidates=$((candidates + 1))
    todo+=("$vmid $node $runs $vm_status $reason -")
  done
  # VMs no tag names: what a killed `qm create` left, found through its run's claim (claim.sh).
  for dir in "${SPEC[remote_dir]}"/jobs/*/; do
    dir=${dir%/}
    runs=${dir##*/}
    [[ -f "$dir/claim" && "$runs" =~ $RUN_ID_RE ]] || continue
    status=$(_gc_job_status "$dir")
    [[ "$status" != success ]] || continue
    _gc_claim_pending "$dir" "$status" || continue
    vmid=$CLAIM_VMID
    age=$(_gc_age "$dir")
    if ((age < SPEC[older_than])); then
      _gc_skip "$vmid" "$([[ "$status" == running ]] && echo running || echo young)"
      left+=" $runs"
      continue
    fi
    reason=unfinished-create
    [[ "$status" != running ]] || reason=running-too-long
    emit GC_CANDIDATE "$vmid:$runs:$reason"
    candidates=$((candidates + 1))
    todo+=("$vmid - $runs - $reason $CLAIM_STORAGE")
  done
  for line in "${todo[@]}"; do
    read -r vmid node runs vm_status reason storage <<<"$line"
    if ((SPEC[dry_run])); then
      left+=" $runs"
      continue
    fi
    dir=$(job_dir_of "${SPEC[remote_dir]}" "$runs")
    if [[ "$storage" != - ]]; then
      # A claim: a running job is cancelled first (its rollback removes the claim's VM itself).
      if [[ "$reason" == running-too-long ]] && ! _gc_stop_job "$dir"; then
        _gc_skip "$vmid" job-still-running
        left+=" $runs"
        continue
      fi
      [[ "$(_gc_job_status "$dir")" != died ]] || _gc_settle_died "$dir"
      _gc_claim_destroy "$dir" "$vmid" "$storage" "$([[ "$reason" == running-too-long ]] && echo 1 || echo 0)"
      ((GC_GONE)) || left+=" $runs"
      continue
    fi
    case "$reason" in
      running-too-long)
        if ! _gc_stop_job "$dir"; then
          _gc_skip "$vmid" job-still-running
          left+=" $runs"
          continue
        fi
        _gc_destroy "$vmid" "$node" "$runs" "$vm_status" "${SPEC[older_than]}" 1
        ;;
      job-died)
        _gc_settle_died "$dir"
        _gc_destroy "$vmid" "$node" "$runs" "$vm_status" "" 0
        ;;
      *) _gc_destroy "$vmid" "$node" "$runs" "$vm_status" "" 0 ;;
    esac
    # A VM that is still there (skipped or failed) keeps its job directory.
    ((GC_GONE)) || left+=" $runs"
  done
  _gc_jobs "$left"
  _gc_partials
  _gc_settle
  if ((SPEC[dry_run])); then
    emit RESULT DRY_RUN
  else
    emit RESULT SUCCESS
  fi
  emit GC_CANDIDATES "$candidates"
  emit CLEANED_COUNT "$GC_CLEANED"
  emit GC_SKIPPED "$GC_SKIPPED"
  end_line
  mark_final
}
