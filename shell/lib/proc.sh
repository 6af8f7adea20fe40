# shellcheck shell=bash
# Long local commands (downloads, hashing, sleeps) run in the background and are waited for, so a
# TERM/INT/HUP is handled at once instead of after the command ends; the EXIT trap kills BG_PID.

BG_PID=""

bg_run() { # <command> <arg...>
  local rc=0
  "$@" &
  BG_PID=$!
  wait "$BG_PID" || rc=$?
  BG_PID=""
  return "$rc"
}

# A simulated host runs its clock faster (LINUS_TIME_SCALE, e.g. 0.1: src/sim/settings.ts
# clockScale); a real host leaves it unset. It shortens poll intervals and graces, never an
# operator's --timeout. In thousandths.
TIME_PERMILLE=1000
if [[ "${LINUS_TIME_SCALE:-}" =~ ^0?\.([0-9]{1,3})$ ]]; then
  TIME_PERMILLE=${BASH_REMATCH[1]}00
  TIME_PERMILLE=$((10#${TIME_PERMILLE:0:3}))
  ((TIME_PERMILLE > 0)) || TIME_PERMILLE=1
fi
readonly TIME_PERMILLE

# Whole seconds on the host's clock (at least 1), into <var>.
scaled_seconds() { # <var> <seconds>
  local s=$((($2 * TIME_PERMILLE + 999) / 1000))
  printf -v "$1" '%d' $((s > 0 ? s : 1))
}

# <file>'s text into <var> without its trailing newlines, as $(<file) gives it, without the fork
# a command substitution costs (every Proxmox call reads two files; ten jobs share two cores).
slurp() { # <var> <file>
  local text=""
  IFS= read -r -d '' text <"$2" || true
  printf -v "$1" '%s' "${text%"${text##*[!$'\n']}"}"
}

# Sleeps <seconds> (up to 3 decimals) on the host's clock; a signal cuts it short.
# (Not a `read -t`, which forks nothing: bash 5.2 crashes when a trap exits during one and the
# EXIT trap then waits for a child.)
nap() { # <seconds>
  local span
  _nap_span span "$1"
  bg_run sleep "$span" || true
}

# Like nap, but ends as soon as <pid>, a child of this shell, exits (then it is reaped).
nap_or_exit() { # <seconds> <child pid>
  local span
  _nap_span span "$1"
  sleep "$span" &
  BG_PID=$!
  wait -n "$BG_PID" "$2" 2>/dev/null || true
  kill "$BG_PID" 2>/dev/null || true
  BG_PID=""
}

# <seconds> on the host's clock, as sleep takes it.
_nap_span() { # <var> <seconds>
  local ms
  [[ "$2" =~ ^([0-9]+)(\.([0-9]{1,3}))?$ ]] || die INTERNAL "nap: not a duration: $2"
  ms=${BASH_REMATCH[3]}000
  ms=$((10#${BASH_REMATCH[1]} * 1000 + 10#${ms:0:3}))
  ms=$((ms * TIME_PERMILLE / 1000))
  printf -v "$1" '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# Stops a local background command left by an interrupted bg_run (never a Proxmox call).
bg_stop() {
  [[ -n "$BG_PID" ]] || return 0
  kill "$BG_PID" 2>/dev/null || true
  wait "$BG_PID" 2>/dev/null || true
  BG_PID=""
}
