# shellcheck shell=bash
# Options of run/start: parsed into SPEC, validated locally (no Proxmox call) so hostile values
# never reach qm. Every check is a guard clause that dies with INVALID_SPEC naming the option; the
# patterns, ranges and tables come from shell/lib/rules.sh, the driver's own rules.

declare -gA SPEC=()
# The validated public keys of --ssh-key-b64, one per line with a final newline, and their count.
KEYS_TEXT=""
KEYS_COUNT=0

# Shows an untrusted value in a message: quoted, one line, short.
shown() { # <var> <value>
  local quoted
  printf -v quoted '%q' "${2:0:60}"
  one_line "$1" "$quoted"
}

# Parses <option...> into the associative array <array> by a spec such as "timeout: force": a
# trailing colon takes a value, a bare name is a flag set to 1; dashes become underscores. Words
# that are not options go to PARSED_ARGS. Unknown options and missing values are INVALID_SPEC.
PARSED_ARGS=()
parse_options() { # <array> <spec> <option...>
  local -n _into=$1
  local spec=" ${2//$'\n'/ } " key what
  shift 2
  PARSED_ARGS=()
  while (($#)); do
    key=${1#--}
    if [[ "$1" != --* ]]; then
      PARSED_ARGS+=("$1") && shift
    elif [[ "$spec" == *" $key: "* ]]; then
      (($# >= 2)) || die INVALID_SPEC "option $1 needs a value"
      _into[${key//-/_}]=$2
      shift 2
    elif [[ "$spec" == *" $key "* ]]; then
      _into[${key//-/_}]=1
      shift
    else
      shown what "$1"
      die INVALID_SPEC "unknown option $what"
    fi
  done
}

# For commands that take options only: a stray word is an unknown option.
parse_options_only() { # <array> <spec> <option...>
  local what
  parse_options "$@"
  ((${#PARSED_ARGS[@]} == 0)) || { shown what "${PARSED_ARGS[0]}" && die INVALID_SPEC "unknown option $what"; }
}

# Fills SPEC from run/start options.
parse_spec() { # <option...>
  SPEC=([remote_dir]=/var/lib/linus [os]=ubuntu [cores]=2 [memory]=2048 [disk]=20 [bridge]=vmbr0
    [ip]=dhcp [timeout]=300 [password]=0 [dry_run]=0 [capacity]=check [cpu]=x86-64-v2-AES [upgrade]=0 [keep_on_failure]=0)
  parse_options_only SPEC "dry-run password upgrade keep-on-failure run-id: remote-dir: node: storage: bridge: name: os: cores: memory: disk: user:
    ssh-key-b64: ip: gateway: dns: search-domain: vlan: image-url: image-sha256: image-sums-url: timeout: capacity: placed-facts: cpu:
    snippets-storage: fleet: tags: description:" "$@"
}

# --fleet (the VM gets the tag linus-fleet-<name>), --tags (more tags, ';'-separated, none of
# them linus' own) and --description (one line after the spec summary), as a fleet apply sends them.
_check_marks() {
  local tag what
  local -a tags=()
  [[ -z "${SPEC[fleet]:-}" ]] || need_match SPEC fleet "$FLEET_NAME_RE" "$FLEET_NAME_RULE"
  if [[ -n "${SPEC[tags]:-}" ]]; then
    IFS=';' read -ra tags <<<"${SPEC[tags]}"
    for tag in "${tags[@]}"; do
      shown what "$tag"
      [[ "$tag" =~ $VM_TAG_RE ]] || die INVALID_SPEC "--tags: $what $VM_TAG_RULE"
      [[ "$tag" != linus* ]] || die INVALID_SPEC "--tags: $what starts with 'linus': those are linus' own ownership tags"
    done
  fi
  if [[ -n "${SPEC[description]+x}" ]]; then
    [[ "${SPEC[description]}" =~ $ONE_LINE_RE && ${#SPEC[description]} -le $MAX_DESCRIPTION_BYTES ]] ||
      die INVALID_SPEC "--description must be one line of at most $MAX_DESCRIPTION_BYTES bytes without control characters"
  fi
  return 0
}

# Integer in [min, max], without leading zeros or signs.
_int_in() { # <value> <min> <max>
  [[ "$1" =~ ^(0|[1-9][0-9]{0,9})$ ]] && (($1 >= $2 && $1 <= $3))
}

# <array>[<key>] (SPEC or OPT) must match <regex>; <rule> completes "--<key> ..." in the message.
need_match() { # <array> <key> <regex> <rule, e.g. "must be a storage id">
  local -n _options=$1
  local what
  shown what "${_options[$2]:-}"
  [[ "${_options[$2]:-}" =~ $3 ]] || die INVALID_SPEC "--${2//_/-} $4, got $what"
}

# Every command's --remote-dir: an absolute path that cannot climb out with . or .. parts.
need_remote_dir() { # <value>
  local what
  shown what "$1"
  [[ "$1" =~ $REMOTE_DIR_RE ]] || die INVALID_SPEC "--remote-dir $REMOTE_DIR_RULE, got $what"
}

# --ip (dhcp, A.B.C.D/N, or empty where it is optional) and --gateway, which needs a static --ip.
need_address() {
  local what address
  if [[ -n "${SPEC[ip]:-}" && "${SPEC[ip]}" != dhcp ]]; then
    shown what "${SPEC[ip]}"
    [[ "${SPEC[ip]}" =~ $IPV4_CIDR_RE ]] || die INVALID_SPEC "--ip must be dhcp or A.B.C.D/N, got $what"
    address=${SPEC[ip]%/*}
  fi
  if [[ -n "${SPEC[gateway]:-}" ]]; then
    need_match SPEC gateway "$IPV4_RE" "$IPV4_RULE"
    [[ -n "${SPEC[ip]:-}" && "${SPEC[ip]}" != dhcp ]] || die INVALID_SPEC "--gateway needs a static --ip"
    [[ "${SPEC[gateway]}" != "$address" ]] || die INVALID_SPEC "--ip $address is the gateway's own address"
  fi
}

# Where the VM goes: --node, --storage and --snippets-storage when given, --bridge, --vlan when given.
need_target() {
  [[ -z "${SPEC[node]:-}" ]] || need_match SPEC node "$NODE_RE" "$NODE_RULE"
  [[ -z "${SPEC[storage]:-}" ]] || need_match SPEC storage "$STORAGE_RE" "$STORAGE_RULE"
  [[ -z "${SPEC[snippets_storage]:-}" ]] || need_match SPEC snippets_storage "$STORAGE_RE" "$STORAGE_RULE"
  need_match SPEC bridge "$BRIDGE_RE" "$BRIDGE_RULE"
  [[ -z "${SPEC[vlan]:-}" ]] || _need_int vlan "$VLAN_MIN" "$VLAN_MAX"
}

# A new run gets a fresh id; a given one (a retry of the same run) must be well-formed.
need_run_id() {
  if [[ -z "${SPEC[run_id]:-}" ]]; then
    SPEC[run_id]="r$(date -u +%y%m%d%H%M%S)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  fi
  need_match SPEC run_id "$RUN_ID_RE" "must match $RUN_ID_RE"
}

_need_int() { # <key> <min> <max>
  local what
  shown what "${SPEC[$1]}"
  _int_in "${SPEC[$1]}" "$2" "$3" || die INVALID_SPEC "--${1//_/-} must be an integer from $2 to $3, got $what"
}

# --cpu: a type qm knows (or a custom- model, which qm checks), and one the OS's kernel runs on.
_check_cpu() { # <os needs x86-64-v2 0|1>
  local cpu=${SPEC[cpu]} what
  shown what "$cpu"
  [[ "$cpu" =~ $CPU_CUSTOM_RE || "${CPU_TYPES//$'\n'/ }" == *" $cpu "* ]] ||
    die INVALID_SPEC "--cpu must be a CPU type Proxmox knows, such as x86-64-v2-AES, x86-64-v3 or host, got $what"
  if (($1)) && [[ "${CPU_TYPES_PRE_V2//$'\n'/ }" == *" $cpu "* ]]; then
    die INVALID_SPEC "--os ${SPEC[os]} needs a CPU type with x86-64-v2 (its kernel does not boot on $cpu): use x86-64-v2-AES, x86-64-v3 or host"
  fi
}

# An http(s) URL, or for test beds a file:// one (never sent by the driver) of the same characters.
_valid_url() { # <url>
  [[ ("$1" =~ $URL_RE || "${1/#file:/https:}" =~ $URL_RE) && ${#1} -le $MAX_URL_LENGTH ]]
}

# Decodes --ssh-key-b64 into KEYS_TEXT and checks every line is one OpenSSH public key.
_check_keys() {
  local b64=${SPEC[ssh_key_b64]} decoded line
  local -a keys=()
  [[ "$b64" =~ ^[A-Za-z0-9+/]+={0,2}$ && ${#b64} -le 65536 ]] || die INVALID_SPEC "--ssh-key-b64 is not base64"
  decoded=$(printf '%s' "$b64" | base64 -d 2>/dev/null) || die INVALID_SPEC "--ssh-key-b64 is not base64"
  while IFS= read -r line; do
    line=${line%$'\r'}
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ $SSH_KEY_RE ]] || die INVALID_SPEC "--ssh-key-b64 holds a line that is not an OpenSSH public key"
    keys+=("$line")
  done <<<"$decoded"
  ((${#keys[@]} > 0)) || die INVALID_SPEC "--ssh-key-b64 holds no public key"
  KEYS_COUNT=${#keys[@]}
  printf -v KEYS_TEXT '%s\n' "${keys[@]}"
}

# Checks every option and fills in defaults that depend on others (user, name, image).
validate_spec() {
  local what item
  need_run_id
  need_remote_dir "${SPEC[remote_dir]}"

  local row os_id os_user os_agent os_v2 os_image os_sums
  shown what "${SPEC[os]}"
  row=$(_os_row "${SPEC[os]}") || die INVALID_SPEC "--os must be one of $OS_NAMES, got $what"
  read -r os_id os_user os_agent os_v2 os_image os_sums <<<"$row"
  SPEC[os]=$os_id
  # Whether the image itself brings the guest agent (address discovery and `agent` in the config).
  SPEC[image_agent]=$os_agent
  _check_cpu "$os_v2"
  _need_int cores "$CORES_MIN" "$CORES_MAX"
  _need_int memory "$MEMORY_MIN" "$MEMORY_MAX"
  _need_int disk "$DISK_MIN" "$DISK_MAX"
  _need_int timeout "$TIMEOUT_MIN" "$TIMEOUT_MAX"
  need_match SPEC capacity '^(check|force|placed)$' "must be check, force or placed"
  if [[ -n "${SPEC[placed_facts]+x}" ]]; then
    [[ "${SPEC[capacity]}" == placed ]] || die INVALID_SPEC "--placed-facts needs --capacity placed"
    need_match SPEC placed_facts "$PLACED_FACTS_RE" "$PLACED_FACTS_RULE"
  fi
  need_target
  _check_marks

  if [[ -z "${SPEC[name]:-}" ]]; then
    SPEC[name]="linus-${SPEC[run_id]}"
    while [[ "${SPEC[name]}" == *- ]]; do SPEC[name]=${SPEC[name]%-}; done
  fi
  need_match SPEC name "$VM_NAME_RE" "$VM_NAME_RULE"

  SPEC[user]=${SPEC[user]:-$os_user}
  need_match SPEC user "$VM_USER_RE" "$VM_USER_RULE"

  if [[ -n "${SPEC[ssh_key_b64]:-}" ]]; then
    _check_keys
  else
    ((SPEC[password])) || die INVALID_SPEC "give --ssh-key-b64 (recommended) or --password"
  fi

  need_address
  [[ "${SPEC[ip]}" == dhcp || -n "${SPEC[gateway]:-}" ]] || die INVALID_SPEC "--gateway is required with a static --ip"
  if [[ -n "${SPEC[dns]:-}" ]]; then
    shown what "${SPEC[dns]}"
    local -a servers=()
    read -ra servers <<<"${SPEC[dns]}"
    ((${#servers[@]} > 0 && ${#servers[@]} <= MAX_DNS_SERVERS)) || die INVALID_SPEC "--dns must be 1 to $MAX_DNS_SERVERS IP addresses separated by spaces, got $what"
    for item in "${servers[@]}"; do
      [[ "$item" =~ $IPV4_RE || "$item" =~ $IPV6_RE ]] ||
        die INVALID_SPEC "--dns must be 1 to $MAX_DNS_SERVERS IP addresses separated by spaces, got $what"
    done
    SPEC[dns]="${servers[*]}"
  fi
  if [[ -n "${SPEC[search_domain]:-}" ]]; then
    shown what "${SPEC[search_domain]}"
    [[ ${#SPEC[search_domain]} -le $MAX_DOMAIN_LENGTH && "${SPEC[search_domain]}" =~ $DOMAIN_RE ]] ||
      die INVALID_SPEC "--search-domain must be a DNS name, got $what"
  fi

  if [[ -n "${SPEC[image_sha256]:-}" ]]; then
    shown what "${SPEC[image_sha256]}"
    [[ "${SPEC[image_sha256]}" =~ $SHA256_RE ]] || die INVALID_SPEC "--image-sha256 must be 64 hex digits, got $what"
    SPEC[image_sha256]=${SPEC[image_sha256],,}
  fi
  for item in image_url image_sums_url; do
    [[ -z "${SPEC[$item]:-}" ]] && continue
    shown what "${SPEC[$item]}"
    _valid_url "${SPEC[$item]}" || die INVALID_SPEC "--${item//_/-} must be an http(s) or file URL, got $what"
  done
  if [[ -n "${SPEC[image_url]:-}" ]]; then
    [[ -n "${SPEC[image_sha256]:-}${SPEC[image_sums_url]:-}" ]] ||
      die INVALID_SPEC "--image-url needs --image-sha256 or --image-sums-url: linus never uses an unverified image"
  else
    SPEC[image_url]=$os_image
  fi
  # An explicit sha256 wins over any checksum file.
  if [[ -n "${SPEC[image_sha256]:-}" ]]; then
    SPEC[image_sums_url]=""
  else
    SPEC[image_sums_url]=${SPEC[image_sums_url]:-$os_sums}
  fi
}

# Writes the validated public keys for `qm create --sshkeys <file>` (qm reads and URL-escapes it).
write_keys_file() { # <path>
  printf '%s' "$KEYS_TEXT" >"$1"
}

# Whether a URL-decoded sshkeys value from a VM config holds exactly our keys.
keys_match() { # <decoded sshkeys>
  [[ "${1%$'\n'}" == "${KEYS_TEXT%$'\n'}" ]]
}

# The request in one line for the VM description: no keys or secrets, only their count; the
# image's checksum when one was given (a fleet plan compares it).
spec_summary() { # <version>
  local s="linus $1 run=${SPEC[run_id]} os=${SPEC[os]} cores=${SPEC[cores]} memory=${SPEC[memory]}M"
  s+=" disk=${SPEC[disk]}G user=${SPEC[user]} ip=${SPEC[ip]}${SPEC[gateway]:+ gw=${SPEC[gateway]}}"
  s+="${SPEC[vlan]:+ vlan=${SPEC[vlan]}} cpu=${SPEC[cpu]} upgrade=${SPEC[upgrade]} keys=$KEYS_COUNT password=$((SPEC[password] ? 1 : 0))"
  s+="${SPEC[image_sha256]:+ image=sha256:${SPEC[image_sha256]}}"
  echo "$s"
}
