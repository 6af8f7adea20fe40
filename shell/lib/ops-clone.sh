# shellcheck shell=bash
# vm clone: a detached job (the provisioner's job machinery: run/wait/cancel/cleanup) that clones a
# template (full or linked), tags the clone as linus', applies cloud-init overrides (user, keys,
# address), starts it and waits for its address and SSH like a provision. Any failure or signal
# destroys the clone; the final block has the provision's shape.

# 1 once `qm clone` succeeded for CLONE_ID: the VM is ours to remove on failure.
CLONE_OWNED=0
CLONE_ID=""
TEMPLATE_CONFIG=""

clone_step() { # <name>
  local line
  step_line line CLONE_STEPS "$1"
  emit STEP "$line"
}

# Options of a clone run, into SPEC.
clone_parse() { # <option...>
  SPEC=([remote_dir]=/var/lib/linus [timeout]=300 [full]=1 [linked]=0 [force]=0 [ip]="" [dry_run]=0 [password]=0)
  parse_options_only SPEC "linked force run-id: remote-dir: template: name: storage: user: ssh-key-b64: ip: gateway: timeout:" "$@"
  ((SPEC[linked] == 0)) || SPEC[full]=0
}

clone_validate() {
  need_run_id
  need_remote_dir "${SPEC[remote_dir]}"
  need_match SPEC template "$VMID_RE" "$VMID_RULE"
  need_match SPEC name "$VM_NAME_RE" "$VM_NAME_RULE"
  if [[ -n "${SPEC[storage]:-}" ]]; then
    need_match SPEC storage "$STORAGE_RE" "must be a storage id"
    ((SPEC[full])) || die INVALID_SPEC "--storage only goes with a full clone (a linked clone stays on the template's storage)"
  fi
  [[ -z "${SPEC[user]:-}" ]] || need_match SPEC user "$VM_USER_RE" "$VM_USER_RULE"
  _need_int timeout "$TIMEOUT_MIN" "$TIMEOUT_MAX"
  [[ -z "${SPEC[ssh_key_b64]:-}" ]] || _check_keys
  need_address
}

# The template's value of <key> (TEMPLATE_CONFIG).
_tpl_get() { # <key>
  local saved=$VM_CONFIG rc=0
  VM_CONFIG=$TEMPLATE_CONFIG
  config_get "$1" || rc=1
  VM_CONFIG=$saved
  return "$rc"
}

# Bytes of every disk of the template (what a full clone allocates), and the first disk's storage.
_tpl_disks() { # -> "<bytes> <storage>"
  local line total=0 storage="" size
  while IFS= read -r line; do
    [[ "$line" == \[* ]] && break
    [[ "$line" =~ ^(scsi|virtio|sata|ide|efidisk|tpmstate)[0-9]+:\ ([^,:]+):([^,]+)(,.*)?$ ]] || continue
    [[ "${BASH_REMATCH[4]}," == *,media=cdrom,* || "${BASH_REMATCH[3]}" == *cloudinit* ]] && continue
    storage=${storage:-${BASH_REMATCH[2]}}
    [[ "${BASH_REMATCH[4]}," =~ ,size=([0-9]+[KMGT]?), ]] || continue
    size=$(size_bytes "${BASH_REMATCH[1]}") && total=$((total + size))
  done <<<"$TEMPLATE_CONFIG"
  echo "$total ${storage:-none}"
}

clone_check() {
  local tpl=${SPEC[template]} net0 bridge disks bytes storage memory taken kind=linked
  check_tools
  ops_find_vm "$tpl"
  pve qm config "$tpl" || ops_fail VM_OP_FAILED "cannot read the config of template $tpl"
  TEMPLATE_CONFIG=$PVE_OUT
  VM_CONFIG=$PVE_OUT
  ops_is_template || die VM_WRONG_STATE "VM $tpl is not a template: convert it with 'qm template $tpl' first"
  ops_refuse_locked "$tpl"
  resources_fill_new RESOURCES_JSON
  if taken=$(_name_taken "${SPEC[name]}" 0); then
    die NAME_CONFLICT "a VM named '${SPEC[name]}' already exists: VMID ${taken% *} on node ${taken#* }"
  fi
  grep -Eq '^(ide|scsi|sata)[0-9]+: [^,]*cloudinit' <<<"$TEMPLATE_CONFIG" ||
    die INVALID_SPEC "template $tpl has no cloud-init drive: linus cannot set the user, keys and address of its clones"
  SPEC[user]=${SPEC[user]:-$(_tpl_get ciuser || true)}
  [[ -n "${SPEC[user]}" ]] || die INVALID_SPEC "template $tpl sets no cloud-init user (ciuser): pass --vm-user"
  net0=$(_tpl_get net0) || die INVALID_SPEC "template $tpl has no net0"
  [[ ",$net0," =~ ,bridge=([^,]+), ]] || die INVALID_SPEC "template $tpl net0 has no bridge: $net0"
  bridge=${BASH_REMATCH[1]}
  disks=$(_tpl_disks)
  read -r bytes storage <<<"$disks"
  ((SPEC[full])) || bytes=0
  SPEC[storage]=${SPEC[storage]:-$storage}
  memory=$(_tpl_get memory) || memory=512
  memory=${memory%%,*}
  # shellcheck disable=SC2154 # VMR is an associative array (lib/ops-common.sh)
  SPEC[node]=${VMR[node]}
  capacity_place "${VMR[node]}" "${SPEC[storage]}" "$bridge" "$memory" $(((bytes + 1024 ** 3 - 1) / 1024 ** 3)) 1 "${SPEC[force]}"
  _clone_plan_address "$net0"
  ((SPEC[full])) && kind=full
  log "template $tpl on node ${VMR[node]}: $kind clone to storage ${SPEC[storage]}"
}

# How the clone's address will be found, decided before `qm clone` as a provision decides it
# (lib/net.sh): the template's agent setting says whether an agent will answer (linus adds no
# vendor-data to a clone), its net0 names the network, and --ip or its ipconfig0 the address.
_clone_plan_address() { # <template net0>
  local keep_ip=${SPEC[ip]} ipconfig agent
  [[ ",$1," =~ ,bridge=([^,]+), ]] && SPEC["bridge"]=${BASH_REMATCH[1]}
  SPEC["vlan"]=""
  [[ ",$1," =~ ,tag=([0-9]+), ]] && SPEC["vlan"]=${BASH_REMATCH[1]}
  agent=$(_tpl_get agent || true)
  SPEC["image_agent"]=0
  [[ "$agent" =~ ^(enabled=)?(1|on|yes|true)(,|$) ]] && SPEC["image_agent"]=1
  # No vendor-data for a clone: its agent is the template's business.
  SPEC["no_agent_why"]="template ${SPEC[template]} does not enable the guest agent"
  # A static address of the template would be every clone's: the clone takes DHCP instead.
  if [[ -z "$keep_ip" ]]; then
    ipconfig=$(_tpl_get ipconfig0 || true)
    if [[ ",$ipconfig," =~ ,ip=([0-9.]+/[0-9]+), ]]; then
      warn_line "template ${SPEC[template]} has the static address ${BASH_REMATCH[1]}: the clone uses DHCP instead (pass --ip for a static address of its own)"
      keep_ip=dhcp
    fi
    SPEC[ip]=dhcp
  fi
  check_bridge
  plan_address_discovery
  check_ip_free
  SPEC[ip]=$keep_ip
}

# `qm clone` is the claim: an ID taken meanwhile moves on to the next candidate.
clone_create() {
  local id i
  local -a args=(--name "${SPEC[name]}" --full "${SPEC[full]}")
  ((SPEC[full])) && args+=(--storage "${SPEC[storage]}")
  for ((i = 0; i < ${#FREE_IDS[@]}; i++)); do
    id=${FREE_IDS[i]}
    CLONE_ID=$id
    if pve qm clone "${SPEC[template]}" "$id" "${args[@]}"; then
      CLONE_OWNED=1
      VM_ID=$id
      emit VM_ID "$id"
      return 0
    fi
    CLONE_ID=""
    [[ "$PVE_ERR" =~ (VM|CT)\ $id\ already\ exists || "$PVE_ERR" == *"config file already exists"* ]] ||
      ops_fail CREATE_FAILED "qm clone ${SPEC[template]} $id failed"
    log_id_taken "$id" "$i"
  done
  die_ids_exhausted
}

# Our ownership tags (the template's other tags stay), then cloud-init overrides.
clone_configure() {
  local tags tag
  local -a keep=() args=()
  VM_CONFIG=$TEMPLATE_CONFIG
  while IFS= read -r tag; do
    [[ "${tag,,}" == linus || "${tag,,}" == linus-* ]] || keep+=("$tag")
  done < <(ops_tags)
  tags=$(printf '%s\n' "${keep[@]}" linus "linus-${SPEC[run_id]}" | sort -u | paste -sd';')
  args=(--tags "$tags" --ciuser "${SPEC[user]}")
  if [[ -n "${SPEC[ssh_key_b64]:-}" ]]; then
    write_keys_file "$WORK_DIR/sshkeys"
    args+=(--sshkeys "$WORK_DIR/sshkeys")
  fi
  [[ -z "${SPEC[ip]}" ]] || args+=(--ipconfig0 "$(_ipconfig)")
  pve qm set "$VM_ID" "${args[@]}" || ops_fail CREATE_FAILED "qm set $VM_ID failed"
  pve qm config "$VM_ID" || ops_fail CREATE_FAILED "cannot read the config of VM $VM_ID"
  VM_CONFIG=$PVE_OUT
}

# Checks the clone's config and keeps what the report needs: MAC, address mode, size.
clone_verify() {
  local net0 ipconfig keys
  config_is_ours || die CREATE_FAILED "VM $VM_ID does not carry the tag linus-${SPEC[run_id]}"
  _expect ciuser "${SPEC[user]}"
  net0=$(config_get net0) || die CREATE_FAILED "VM $VM_ID has no net0"
  [[ "$net0" =~ ^[a-z0-9]+=([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}), ]] || die CREATE_FAILED "VM $VM_ID net0 has no MAC: $net0"
  VM_MAC=${BASH_REMATCH[1],,}
  if [[ -n "${SPEC[ip]}" ]]; then
    _expect ipconfig0 "$(_ipconfig)"
  else
    ipconfig=$(config_get ipconfig0) || ipconfig="ip=dhcp"
    if [[ ",$ipconfig," =~ ,ip=([0-9.]+/[0-9]+), ]]; then SPEC[ip]=${BASH_REMATCH[1]}; else SPEC[ip]=dhcp; fi
  fi
  if [[ -n "${SPEC[ssh_key_b64]:-}" ]]; then
    keys=$(config_get sshkeys) || die CREATE_FAILED "VM $VM_ID has no sshkeys"
    keys=$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$keys")
    keys_match "$keys" || die CREATE_FAILED "VM $VM_ID sshkeys differ from the keys given"
  fi
  log "VM $VM_ID: clone of ${SPEC[template]}, MAC $VM_MAC, cloud-init user ${SPEC[user]}, ${SPEC[ip]}"
}

_clone_os() {
  local desc
  desc=$(_tpl_get description || true)
  desc=$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$desc")
  if [[ " $desc " =~ \ os=([a-z0-9.-]+)\  ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo "template-${SPEC[template]}"
  fi
}

clone_success_block() {
  local cores memory scsi disk=0 boot
  cores=$(config_get cores) || cores=1
  memory=$(config_get memory) || memory=512
  boot=$(config_get boot) || boot=""
  [[ "$boot" =~ order=([a-z]+[0-9]+) ]] && scsi=$(config_get "${BASH_REMATCH[1]}") || scsi=$(config_get scsi0) || scsi=""
  [[ ",$scsi," =~ ,size=([0-9]+[KMGT]?), ]] && disk=$(($(size_bytes "${BASH_REMATCH[1]}") / 1024 ** 3))
  emit RESULT SUCCESS
  emit VM_ID "$VM_ID"
  emit VM_IP "${VM_IP:?}"
  emit VM_USER "${SPEC[user]}"
  emit VM_NAME "${SPEC[name]}"
  emit VM_OS "$(_clone_os)"
  emit VM_CPU "${cores%%,*}"
  emit VM_RAM "${memory%%,*}"
  emit VM_DISK "$disk"
  emit VM_NODE "${SPEC[node]}"
}

clone_run() {
  clone_step validate
  clone_check
  clone_step claim
  pick_vm_ids "$RESOURCES_JSON" "$RESOURCES_READ_AT"
  clone_create
  clone_step create
  clone_configure
  clone_verify
  clone_step cloudinit
  clone_step start
  # shellcheck disable=SC2034 # read by rollback_destroy (lib/create.sh)
  START_TRIED=1
  pve qm start "$VM_ID" || ops_fail START_FAILED "qm start $VM_ID failed"
  clone_step ip
  start_deadline
  wait_for_ip "$VM_ID" "$VM_MAC"
  clone_step ssh
  wait_for_ssh "$VM_ID" "$VM_MAC"
  clone_step report
}

# Removes the clone unless it finished: waits for a Proxmox call in flight (an interrupted `qm
# clone` that succeeded makes the VM ours), then stops and destroys it with its volumes.
clone_rollback() {
  local id=$CLONE_ID
  [[ -n "$id" ]] || return 0
  if [[ -n "$PVE_PID" ]]; then
    log "rollback: waiting for the Proxmox call in flight to finish"
    if wait "$PVE_PID" 2>/dev/null; then CLONE_OWNED=1; fi
    PVE_PID=""
  fi
  CLONE_ID=""
  ((CLONE_OWNED)) || return 0
  rollback_destroy "$id"
}
