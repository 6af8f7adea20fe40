# shellcheck shell=bash
# Host-side jobs under <remote-dir>/jobs/<run-id>: spec (the options, NUL-separated), log (every
# line the job printed), pid, state (running|finished), result (the final block without
# LINUS_END), exit, and a 0600 password file shown once. The job runs in its own session
# (setsid), so a dropped SSH connection never stops it half-way.

# Set in the job process itself: where its final block goes.
JOB_DIR=""
# The job log being followed: its descriptor (log_open), the complete lines log_chunk read last,
# the offset after them, and a last line not yet complete.
LOG_FD=""
CHUNK=""
NEXT_OFFSET=0
LOG_PARTIAL=""
# Set by the traps while following a job: 1 for INT/TERM (cancel), 2 for HUP (detach).
FOLLOW_SIGNAL=0
# The job process this shell started (job_launch), while it runs: following it ends the wait for
# its next look at the log as soon as it exits.
JOB_CHILD=""
readonly EXIT_RUNNING=75

job_dir_of() { # <remote-dir> <run-id>
  echo "$1/jobs/$2"
}

# Sets <var> to an existing job's directory or dies with JOB_NOT_FOUND.
job_find() { # <var> <remote-dir> <run-id>
  local _what _found
  shown _what "$3"
  [[ "$3" =~ $RUN_ID_RE ]] || die INVALID_SPEC "run id must match $RUN_ID_RE, got $_what"
  _found=$(job_dir_of "$2" "$3")
  [[ -f "$_found/state" ]] || die JOB_NOT_FOUND "no job $3 under $2/jobs"
  printf -v "$1" '%s' "$_found"
}

job_state() { # <dir>
  local state
  state=$(<"$1/state")
  echo "$state"
}

# Writes a file whole: readers never see a half-written one.
_write_file() { # <path> <content>
  printf '%s' "$2" >"$1.tmp.$$"
  mv -f -- "$1.tmp.$$" "$1"
}

# Records the final block (stdin) and exit status, then marks the job finished (last, so a reader
# that sees "finished" finds the result).
job_publish() { # <dir> <exit status>
  local block
  block=$(cat)
  _write_file "$1/result" "$block"$'\n'
  _write_file "$1/exit" "$2"$'\n'
  [[ "$block" == *LINUS_RESULT:SUCCESS* ]] || rm -f -- "$1/password"
  _write_file "$1/state" $'finished\n'
}

# Creates the job and starts it detached. Starting the same run id with the same options again
# is a no-op (a retry after a dropped connection); with other options it is refused.
job_launch() { # <script> <option...>
  local script=$1 jobs="${SPEC[remote_dir]}/jobs" dir
  shift
  dir=$(job_dir_of "${SPEC[remote_dir]}" "${SPEC[run_id]}")
  mkdir -p -- "$jobs" 2>/dev/null || die INVALID_SPEC "cannot create $jobs (check --remote-dir)"
  if ! mkdir -- "$dir" 2>/dev/null; then
    if [[ -f "$dir/spec" ]] && cmp -s "$dir/spec" <(printf '%s\0' --run-id "${SPEC[run_id]}" "$@"); then
      log "job ${SPEC[run_id]} was already started"
      return 0
    fi
    die INVALID_SPEC "run id ${SPEC[run_id]} is already used by another request"
  fi
  printf '%s\0' --run-id "${SPEC[run_id]}" "$@" >"$dir/spec"
  # The log's first line, not a line of `run` before the log: a `wait` that re-reads the log from
  # 0 after a dropped `run` then lines up with what `run` showed.
  printf 'linus: job %s started\n' "${SPEC[run_id]}" >"$dir/log"
  _write_file "$dir/state" $'running\n'
  # A session of its own (util-linux setsid: a background command of this script leads no process
  # group, so setsid execs without forking and $! is the job), with the signals a background
  # command starts with ignored back at their defaults (coreutils env): the job traps INT and TERM.
  setsid env --default-signal=HUP,INT,TERM,QUIT,PIPE bash "$script" _job "${SPEC[run_id]}" "${SPEC[remote_dir]}" </dev/null >>"$dir/log" 2>&1 &
  JOB_CHILD=$!
  _write_file "$dir/pid" "$JOB_CHILD"$'\n'
}

# Whether the job process still runs (no pid file yet means it is starting). A killed job whose
# parent never reaps it stays a zombie: its /proc state says Z. Builtins only: following a job
# asks this every half second.
job_alive() { # <dir>
  [[ -f "$1/pid" ]] || return 0
  local pid="" stat
  read -r pid <"$1/pid" || [[ -n "$pid" ]] || return 0
  [[ "$pid" =~ ^[1-9][0-9]{0,9}$ ]] || return 1
  { IFS= read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# Opens <log> for log_chunk, from byte <offset> on.
log_open() { # <log> <offset>
  local LC_ALL=C
  exec {LOG_FD}<"$1"
  LOG_PARTIAL=""
  NEXT_OFFSET=$2
  if (($2 > 0)); then
    IFS= read -r -d '' -N "$2" -u "$LOG_FD" _ || true
  fi
}

# The complete lines the log gained since the last call, into CHUNK, and NEXT_OFFSET after them.
# Builtins only, as job_alive.
log_chunk() {
  local LC_ALL=C line
  CHUNK=""
  while IFS= read -r -u "$LOG_FD" line; do
    CHUNK+="$LOG_PARTIAL$line"$'\n'
    LOG_PARTIAL=""
  done
  LOG_PARTIAL+=$line
  NEXT_OFFSET=$((NEXT_OFFSET + ${#CHUNK}))
}

# Prints the final block, with the password the first time only, and LINUS_END.
print_final() { # <dir>
  local pw claimed="$1/password.shown.$$"
  cat -- "$1/result"
  if grep -qx 'LINUS_RESULT:SUCCESS' "$1/result" && mv -- "$1/password" "$claimed" 2>/dev/null; then
    pw=$(<"$claimed")
    rm -f -- "$claimed"
    emit VM_PASSWORD "$pw"
  fi
  end_line
}

# A job process that vanished without a result (killed with SIGKILL, host crash) is finished.
_job_vanished() { # <dir>
  failure_block JOB_LOST "the job process ended without a result: it was killed (SIGKILL, out of memory or a reboot) before it could roll back" |
    job_publish "$1" "${CODE_EXIT[JOB_LOST]}"
}

# Prints the log from <offset> as it grows until the job finishes or <max-seconds> pass, then
# LINUS_OFFSET, LINUS_JOB and (when finished) the final block, and exits: 0 or the job's exit
# status when finished, 75 when still running. On INT/TERM, `run` (forward=1) cancels the job and
# goes on until its rollback is done. HUP (the session went away), and any signal during `wait`,
# only stop following: the job goes on and a later `wait` picks it up.
follow_job() { # <dir> <offset> <max-seconds or ""> <forward 0|1>
  local dir=$1 offset=$2 until="" state forwarded=0 size
  size=$(stat -c %s -- "$dir/log")
  ((offset <= size)) || die INVALID_SPEC "--offset $offset is past the end of the log ($size bytes)"
  [[ -z "$3" ]] || until=$((SECONDS + $3))
  FOLLOW_SIGNAL=0
  trap 'FOLLOW_SIGNAL=1' INT TERM
  trap 'FOLLOW_SIGNAL=2' HUP
  log_open "$dir/log" "$offset"
  while :; do
    read -r state <"$dir/state" || true
    log_chunk
    printf '%s' "$CHUNK"
    offset=$NEXT_OFFSET
    [[ "$state" == finished ]] && break
    if ! job_alive "$dir"; then
      [[ "$(job_state "$dir")" == finished ]] || _job_vanished "$dir"
      continue
    fi
    if ((FOLLOW_SIGNAL)); then
      (($4 && FOLLOW_SIGNAL == 1)) || break
      if ! ((forwarded)); then
        log "signal received: cancelling job ${dir##*/}"
        job_cancel "$dir"
        forwarded=1
      fi
      FOLLOW_SIGNAL=0
    fi
    [[ -n "$until" ]] && ((SECONDS >= until)) && break
    if [[ -n "$JOB_CHILD" ]]; then
      nap_or_exit 0.5 "$JOB_CHILD"
      kill -0 "$JOB_CHILD" 2>/dev/null || JOB_CHILD=""
    else
      nap 0.5
    fi
  done
  emit OFFSET "$offset"
  mark_final
  if [[ "$state" == finished ]]; then
    emit JOB FINISHED
    print_final "$dir"
    exit "$(<"$dir/exit")"
  fi
  emit JOB RUNNING
  exit "$EXIT_RUNNING"
}

# Delivers a final block (stdin, without LINUS_END): into the job's files inside a job, else to
# stdout with LINUS_END.
publish_final() { # <exit status>
  if [[ -n "$JOB_DIR" ]]; then
    job_publish "$JOB_DIR" "$1"
  else
    cat
    end_line
  fi
}

# Sends TERM to a running job; it rolls back and finishes on its own. The `cancel` file tells the
# job the TERM is a cancel someone asked for (Ctrl-C, linus cancel), not a stray signal.
job_cancel() { # <dir>
  [[ "$(job_state "$1")" == running && -f "$1/pid" ]] || return 0
  log "cancelling job ${1##*/}"
  : >"$1/cancel"
  kill -TERM "$(<"$1/pid")" 2>/dev/null || true
}

# Options of wait/cancel (shared by every entry script that runs jobs), into SPEC.
_parse_follow() { # <option...>
  SPEC+=([remote_dir]=/var/lib/linus [offset]=0 [max_seconds]="")
  parse_options_only SPEC "offset: max-seconds: remote-dir:" "$@"
  _int_in "${SPEC[offset]}" 0 999999999999 || die INVALID_SPEC "--offset must be a byte offset"
  [[ -z "${SPEC[max_seconds]}" ]] || _int_in "${SPEC[max_seconds]}" 0 86400 ||
    die INVALID_SPEC "--max-seconds must be an integer from 0 to 86400"
  need_remote_dir "${SPEC[remote_dir]}"
}

# Usage: wait <run-id> [--offset N] [--max-seconds N] [--remote-dir DIR]
# Description: print the job log from --offset, then LINUS_OFFSET, LINUS_JOB and, once finished,
# the final block. Exit 0 (success), the job's exit status (failure) or 75 (still running).
cmd_wait() {
  local id=${1:-} dir
  (($#)) && shift
  _parse_follow "$@"
  job_find dir "${SPEC[remote_dir]}" "$id"
  emit RUN_ID "$id"
  follow_job "$dir" "${SPEC[offset]}" "${SPEC[max_seconds]}" 0
}

# Usage: cancel <run-id> [--remote-dir DIR]
# Description: stop the job, wait for its rollback, print its final block (CANCELLED, exit 130).
cmd_cancel() {
  local id=${1:-} dir
  (($#)) && shift
  _parse_follow "$@"
  job_find dir "${SPEC[remote_dir]}" "$id"
  emit RUN_ID "$id"
  local offset
  offset=$(stat -c %s -- "$dir/log")
  job_cancel "$dir"
  follow_job "$dir" "$offset" "" 0
}

# The value of <key> in a job file's LINUS_ records (the first one), or "-".
_job_record() { # <file> <key>
  local line
  [[ -f "$1" ]] || { echo -; return 0; }
  line=$(grep -m1 -E "^LINUS_$2:" -- "$1" 2>/dev/null) || { echo -; return 0; }
  echo "${line#*:}"
}

# One LINUS_RUN record for the job in <dir>:
# <run-id>:<state>:<result>:<vmid>:<name>:<started>:<ip>:<user>, "-" for what is not known.
# state: running, finished, or died (its process is gone without a result); result: SUCCESS, the
# error code, or - while running; started: the epoch second the job was created.
_job_run_record() { # <dir>
  local dir=$1 id=${1##*/} state result vmid name="-" user="-" ip started key
  local -a spec=()
  [[ "$id" =~ $RUN_ID_RE ]] || return 0
  state=$(job_state "$dir") || return 0
  [[ "$state" != running ]] || job_alive "$dir" || state=died
  result=-
  if [[ "$state" == finished ]]; then
    result=$(_job_record "$dir/result" RESULT)
    [[ "$result" == SUCCESS ]] || result=$(_job_record "$dir/result" ERROR_CODE)
  fi
  vmid=$(_job_record "$dir/log" VM_ID)
  [[ "$vmid" == - ]] && vmid=$(_job_record "$dir/result" VM_ID)
  ip=$(_job_record "$dir/result" VM_IP)
  mapfile -d '' spec <"$dir/spec" 2>/dev/null || true
  for ((key = 0; key + 1 < ${#spec[@]}; key++)); do
    case "${spec[key]}" in
      --name) name=${spec[key + 1]} ;;
      --user) user=${spec[key + 1]} ;;
    esac
  done
  [[ "$(_job_record "$dir/result" VM_USER)" == - ]] || user=$(_job_record "$dir/result" VM_USER)
  # Values from the spec went through validate_spec; anything else in a record is left out.
  [[ "$name" =~ $VM_NAME_RE ]] || name=-
  [[ "$user" =~ $VM_USER_RE ]] || user=-
  [[ "$vmid" =~ $VMID_RE ]] || vmid=-
  [[ "$ip" =~ $IPV4_RE ]] || ip=-
  [[ "$result" =~ ^[A-Z_]+$ ]] || result=-
  started=$(stat -c %Y -- "$dir/spec" 2>/dev/null) || started=0
  emit RUN "$id:$state:$result:$vmid:$name:$started:$ip:$user"
}

# Usage: runs [--remote-dir DIR]
# Description: one LINUS_RUN record per job under <remote-dir>/jobs (oldest first), then SUCCESS.
cmd_runs() {
  local dir
  local -a dirs=()
  SPEC+=([remote_dir]=/var/lib/linus)
  parse_options_only SPEC "remote-dir:" "$@"
  need_remote_dir "${SPEC[remote_dir]}"
  if [[ -d "${SPEC[remote_dir]}/jobs" ]]; then
    mapfile -t dirs < <(find "${SPEC[remote_dir]}/jobs" -mindepth 2 -maxdepth 2 -name spec -printf '%T@ %h\n' | sort -n | cut -d' ' -f2-)
  fi
  for dir in "${dirs[@]}"; do
    [[ -f "$dir/state" ]] || continue
    _job_run_record "$dir"
  done
  emit RESULT SUCCESS
  end_line
  mark_final
}
