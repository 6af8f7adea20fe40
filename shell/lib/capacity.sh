# shellcheck shell=bash
# The capacity thresholds for a new VM, shared by the provisioner, clone and placement: past 80 %
# of a node's memory or a storage's space a warning, past 90 % a refusal (CAPACITY_EXCEEDED) unless
# --force; past 100 % it does not fit at all (INSUFFICIENT_*), which --force cannot override.

readonly CAPACITY_WARN_PCT=80
readonly CAPACITY_REFUSE_PCT=90

# <used bytes> <total bytes> as a percentage with one decimal, e.g. 81.5 (0 for an unknown total).
capacity_percent() { # <used> <total>
  (($2 > 0)) || { echo 0 && return 0; }
  local tenths=$(((1000 * $1 + $2 / 2) / $2))
  echo "$((tenths / 10)).$((tenths % 10))"
}

capacity_verdict() { # <what> <percent after, e.g. 81.5> <resource> <force 0|1> <code if full>
  local tenths=${2/./}
  [[ "$2" == *.* ]] || tenths="${2}0"
  if ((10#$tenths > 1000)); then
    die "$5" "$1: the $3 would be $2 % used: it does not fit"
  elif ((10#$tenths > CAPACITY_REFUSE_PCT * 10)); then
    (($4)) || die CAPACITY_EXCEEDED "$1: the $3 would be $2 % used (over $CAPACITY_REFUSE_PCT %); pass --force to go ahead anyway"
    warn_line "$1: the $3 will be $2 % used (over $CAPACITY_REFUSE_PCT %, --force)"
  elif ((10#$tenths > CAPACITY_WARN_PCT * 10)); then
    warn_line "$1: the $3 will be $2 % used (over $CAPACITY_WARN_PCT %)"
  fi
}
