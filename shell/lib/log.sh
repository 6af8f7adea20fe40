# shellcheck shell=bash
# Human log lines and LINUS_* protocol lines. Every write is one whole line (a single printf), so
# stdout and stderr can be merged (ssh exec tools do) or appended to one job log and still parse.

# Sets the variable named $1 to $2 made safe for one line: control characters become spaces and
# it is cut to $3 characters (default 400).
one_line() { # <var> <text> [max]
  local text=${2//[[:cntrl:]]/ }
  printf -v "$1" '%s' "${text:0:${3:-400}}"
}

# A human log line on stderr.
log() { # <message...>
  local line
  one_line line "$*" 4000
  printf 'linus: %s\n' "$line" >&2
}

# A protocol line on stdout: LINUS_<KEY>:<value>.
emit() { # <KEY> <value>
  local value
  one_line value "$2" 4000
  printf 'LINUS_%s:%s\n' "$1" "$value"
}

# A warning the driver shows and puts in its JSON (`warnings`).
warn_line() { # <text>
  log "warning: $1"
  emit WARNING "$1"
}

# Quotes an argv for display (logs, LINUS_PLAN) so bash would read it back as the same words:
# plain words stay as they are, others are single-quoted. The value after --cipassword is a
# password hash and is never shown (qm prints <hidden> too).
argv_text() { # <var> <arg...>
  local arg hide=0 q="'"
  local -a quoted=()
  for arg in "${@:2}"; do
    if ((hide)); then
      arg="<hidden>"
      hide=0
    fi
    [[ "$arg" == "--cipassword" ]] && hide=1
    [[ "$arg" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]] || arg="$q${arg//$q/$q\\$q$q}$q"
    quoted+=("$arg")
  done
  printf -v "$1" '%s' "${quoted[*]}"
}
