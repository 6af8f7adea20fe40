# shellcheck shell=bash
# vm config|set|resize: read the config, change cores/memory/name/description/tags (reporting what
# waits for a reboot), grow a disk and verify it from the config (qm resize exits 0 on failure).

# A Proxmox tag (pve-tag format).
readonly TAG_RE='^[A-Za-z0-9_][A-Za-z0-9_+.-]*$'

# Reads `key: value` config texts in the files named by $CUR and $ALL (current / pending applied)
# and prints one JSON object {config, pending}: pending holds what differs from the current one
# (null for a pending delete). Descriptions are URL-style encoded by qm config: decoded here.
_config_json_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
sub rd { my %h; open(my $f, "<", shift) or die; while (<$f>) { chomp; last if /^\[/;
  next unless /^([a-z][a-z_\-]*\d*): ?(.*)$/; my ($k, $v) = ($1, $2);
  $v =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge if $k eq "description"; $h{$k} = $v } \%h }
my ($cur, $all) = (rd($ENV{CUR}), rd($ENV{ALL}));
my %pending;
for my $k (keys %$all) { $pending{$k} = $all->{$k} if !exists $cur->{$k} || $cur->{$k} ne $all->{$k} }
for my $k (keys %$cur) { $pending{$k} = undef unless exists $all->{$k} }
print json_new()->canonical->encode({ config => $cur, pending => \%pending });
PERL
}

# Reads both views of the config into $WORK_DIR/cur and $WORK_DIR/all; VM_CONFIG = pending applied.
_read_both_configs() { # <vmid>
  pve qm config "$1" --current || ops_fail VM_OP_FAILED "cannot read the config of VM $1"
  printf '%s\n' "$PVE_OUT" >"$WORK_DIR/cur"
  ops_load_config "$1"
  printf '%s\n' "$VM_CONFIG" >"$WORK_DIR/all"
}

_config_json() {
  CUR="$WORK_DIR/cur" ALL="$WORK_DIR/all" perl -e "$(_config_json_program)" || die INTERNAL "cannot read the config of the VM"
}

# Usage: config <vmid> [--remote-dir DIR]
# Description: the VM's config (current values) and its pending changes.
cmd_config() {
  local vmid linus=0 json
  ops_parse "remote-dir:" "$@"
  ops_vmid vmid
  ops_find_vm "$vmid"
  _read_both_configs "$vmid"
  ops_is_linus && linus=1
  json=$(_config_json)
  emit_data "s:op=config" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "b:linus=$linus" "j:view=$json" | ops_success
}

# A config value with the description decoded, as _config_json shows it.
_config_value() { # <key>
  local value
  value=$(config_get "$1") || return 1
  [[ "$1" == description ]] && value=$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$value")
  printf '%s' "$value"
}

# The spec summary a provision wrote as the first line of VM_CONFIG's description (spec_summary),
# which --keep-summary keeps in front of the new text; fails when there is none.
_spec_summary_line() {
  local description
  description=$(_config_value description) || return 1
  description=${description%%$'\n'*}
  [[ "$description" =~ ^linus\ [^[:space:]]+\ run= ]] || return 1
  printf '%s' "$description"
}

# The tags --tags asks for, plus the linus ownership tags the VM has: sorted, unique, `;`-joined,
# into WANTED_TAGS.
WANTED_TAGS=""
_wanted_tags() { # <requested>
  local tag what
  local -a list=() out=()
  read -ra list <<<"${1//[;,]/ }"
  for tag in "${list[@]}"; do
    shown what "$tag"
    [[ "$tag" =~ $TAG_RE && ${#tag} -le 64 ]] || die INVALID_SPEC "--tags: $what is not a valid tag (letters, digits, _ + . -)"
    [[ "${tag,,}" != linus* ]] || die INVALID_SPEC "--tags: tags starting with 'linus' are linus' own ownership marks"
    out+=("$tag")
  done
  while IFS= read -r tag; do
    [[ "${tag,,}" == linus || "${tag,,}" == linus-* ]] && out+=("$tag")
  done < <(ops_tags)
  ((${#out[@]})) || die INVALID_SPEC "--tags: give at least one tag"
  WANTED_TAGS=$(printf '%s\n' "${out[@]}" | sort -u | paste -sd';')
}

# The VM other than <vmid> named <name>, as "<vmid> <node>" (RESOURCES_JSON, after resources_fill_new).
_name_taken() { # <name> <vmid>
  perl -e "$PERL_JSON"'my ($n, $id) = @ARGV; my $r = decode_json(do { local $/; <STDIN> });
    for (@$r) { next unless ref $_ eq "HASH" && ($_->{type} // "") =~ /^(qemu|lxc)$/;
      if (($_->{name} // "") eq $n && $_->{vmid} != $id) { print "$_->{vmid} $_->{node}\n"; exit 0 } } exit 1' "$1" "$2" <<<"$RESOURCES_JSON"
}

# Usage: set <vmid> [--cores N] [--memory MIB] [--name NAME] [--description TEXT [--keep-summary]] [--tags "a;b"] [--foreign] [--remote-dir DIR]
# Description: change settings; on a running VM cores and memory wait in [PENDING] until a reboot.
# --keep-summary: the description's spec summary line (a provision's record) stays its first line.
cmd_set() {
  local vmid key want have taken json changed=0 what
  local -a keys=() args=() applied=() pending=()
  declare -A WANT=()
  ops_parse "cores: memory: name: description: keep-summary tags: foreign remote-dir:" "$@"
  ops_vmid vmid
  [[ -n "${OPT[cores]:-}" ]] && ops_int cores "$CORES_MIN" "$CORES_MAX" "" && WANT[cores]=${OPT[cores]}
  [[ -n "${OPT[memory]:-}" ]] && ops_int memory "$VM_MEMORY_MIN" "$VM_MEMORY_MAX" "" && WANT[memory]=${OPT[memory]}
  if [[ -n "${OPT[name]+x}" ]]; then
    need_match OPT name "$VM_NAME_RE" "$VM_NAME_RULE"
    WANT[name]=${OPT[name]}
  fi
  if [[ -n "${OPT[description]+x}" ]]; then
    [[ "${OPT[description]}" =~ $ONE_LINE_RE && ${#OPT[description]} -le $MAX_DESCRIPTION_BYTES ]] ||
      die INVALID_SPEC "--description must be one line of at most $MAX_DESCRIPTION_BYTES bytes without control characters"
    WANT[description]=${OPT[description]}
  fi
  ((${#WANT[@]} > 0)) || [[ -n "${OPT[tags]+x}" ]] ||
    die INVALID_SPEC "nothing to set: give --cores, --memory, --name, --description or --tags"
  [[ "${OPT[keep_summary]:-0}" == 0 || -n "${WANT[description]+x}" ]] || die INVALID_SPEC "--keep-summary goes with --description"
  ops_find_vm "$vmid"
  _read_both_configs "$vmid"
  ops_refuse_foreign "$vmid" change
  ops_refuse_locked "$vmid"
  if [[ -n "${OPT[tags]+x}" ]]; then
    _wanted_tags "${OPT[tags]}"
    WANT[tags]=$WANTED_TAGS
  fi
  if [[ "${OPT[keep_summary]:-0}" == 1 ]] && have=$(_spec_summary_line); then
    WANT[description]=$have${WANT[description]:+$'\n'${WANT[description]}}
  fi
  [[ -z "${WANT[name]:-}" ]] || resources_fill_new RESOURCES_JSON
  if [[ -n "${WANT[name]:-}" ]] && taken=$(_name_taken "${WANT[name]}" "$vmid"); then
    die NAME_CONFLICT "a VM named '${WANT[name]}' already exists: VMID ${taken% *} on node ${taken#* }"
  fi
  mapfile -t keys < <(printf '%s\n' "${!WANT[@]}" | sort)
  for key in "${keys[@]}"; do
    have=$(_config_value "$key") || have=""
    [[ "$have" == "${WANT[$key]}" ]] && continue
    args+=("--$key" "${WANT[$key]}")
  done
  if ((${#args[@]})); then
    changed=1
    pve qm set "$vmid" "${args[@]}" || ops_fail VM_OP_FAILED "qm set $vmid failed"
    _read_both_configs "$vmid"
  fi
  # Verify from the config (pending applied), then tell applied from pending.
  for key in "${keys[@]}"; do
    have=$(_config_value "$key") || have=""
    [[ "$have" == "${WANT[$key]}" ]] || die VM_OP_FAILED "VM $vmid has $key '$have' after qm set, expected '${WANT[$key]}'"
    want=$(grep -m1 "^$key: " "$WORK_DIR/cur" | cut -d' ' -f2-) || want=""
    [[ "$key" == description ]] && want=$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$want")
    if [[ "$want" == "${WANT[$key]}" ]]; then applied+=("$key"); else pending+=("$key"); fi
  done
  if ((${#pending[@]} > 0)); then
    local changes=${pending[*]}
    warn_line "VM $vmid is running: ${changes// / and } take effect at the next reboot"
  fi
  json=$(_config_json)
  emit_data "s:op=set" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${WANT[name]:-${VMR[name]}}" "b:changed=$changed" \
    "j:applied=$(_json_list "${applied[@]}")" "j:pending=$(_json_list "${pending[@]}")" "j:view=$json" | ops_success
}

_json_list() { # <item...>
  perl -e "$PERL_JSON"'print encode_json([@ARGV])' -- "$@"
}

# Usage: resize <vmid> --size GIB|+GIB [--disk scsi0] [--foreign] [--remote-dir DIR]
# Description: grow a disk (never shrink) and verify the new size from the config.
cmd_resize() {
  local vmid disk drive size have want err what stderr
  ops_parse "disk: size: foreign remote-dir:" "$@"
  ops_vmid vmid
  disk=${OPT[disk]:-scsi0}
  shown what "$disk"
  [[ "$disk" =~ $DISK_ID_RE ]] || die INVALID_SPEC "--disk $DISK_ID_RULE, got $what"
  shown what "${OPT[size]:-}"
  [[ "${OPT[size]:-}" =~ $SIZE_RE ]] || die INVALID_SPEC "--size $SIZE_RULE, got $what"
  local relative=${BASH_REMATCH[1]} amount=${BASH_REMATCH[2]}
  ops_find_vm "$vmid"
  ops_load_config "$vmid"
  ops_refuse_foreign "$vmid" resize
  ops_refuse_locked "$vmid"
  drive=$(config_get "$disk") || die INVALID_SPEC "VM $vmid has no disk $disk"
  [[ ",$drive," != *,media=cdrom,* ]] || die INVALID_SPEC "$disk of VM $vmid is a CD-ROM drive"
  [[ ",$drive," =~ ,size=([0-9]+[KMGT]?), ]] || die RESIZE_FAILED "VM $vmid $disk has no size: $drive"
  have=$(size_bytes "${BASH_REMATCH[1]}")
  if [[ -n "$relative" ]]; then want=$((have + amount * 1024 ** 3)); else want=$((amount * 1024 ** 3)); fi
  ((want >= have)) || die INVALID_SPEC "$disk of VM $vmid is $((have / 1024 ** 3)) GiB: shrinking a disk is not supported"
  if ((want == have)); then
    emit_data "s:op=resize" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "s:disk=$disk" "b:changed=0" "n:beforeBytes=$have" "n:sizeBytes=$want" | ops_success
    return 0
  fi
  pve qm resize "$vmid" "$disk" "$want" || ops_fail RESIZE_FAILED "qm resize $vmid failed"
  err=$(pve_message)
  stderr=$PVE_ERR
  ops_load_config "$vmid"
  drive=$(config_get "$disk") || die RESIZE_FAILED "VM $vmid lost disk $disk"
  [[ ",$drive," =~ ,size=([0-9]+[KMGT]?), ]] || die RESIZE_FAILED "VM $vmid $disk has no size: $drive"
  size=$(size_bytes "${BASH_REMATCH[1]}")
  if ((size != want)); then
    # qm resize exits 0 when the resize fails: its stderr says why.
    PVE_ERR=$stderr
    [[ "$stderr" == *"can't lock file"*"got timeout"* || "$stderr" == *"VM is locked"* ]] && die VM_LOCKED "qm resize $vmid: $err"
    die RESIZE_FAILED "$disk of VM $vmid is $size bytes, not $want${stderr:+: $err}"
  fi
  emit_data "s:op=resize" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "s:disk=$disk" "b:changed=1" "n:beforeBytes=$have" "n:sizeBytes=$size" | ops_success
}
