# shellcheck shell=bash
# Steps 3-6: claim an ID by creating the VM (one `qm create` with disk import and cloud-init),
# grow and verify it, start it; and the rollback that removes only the VM this run created.

# Candidate VM IDs (pick_vm_ids), and when the read that found them free started (epoch).
FREE_IDS=()
IDS_SEEN=0
# The ID of a `qm create` we ran (in flight or done): the only VM the rollback may touch, and only
# if its config carries our run tag or is still nothing but our claim (claim.sh).
CLAIM_ID=""
VM_ID=""
VM_CONFIG=""
VM_MAC=""
START_TRIED=0
CREATE_ARGS=()
SNIPPET_VOLID=""
SNIPPETS_STORAGE=""
PASSWORD_HASH=""
readonly SNIPPET_NAME=linus-qga.yaml
readonly CLAIM_TRIES=10

# Vendor-data that installs and starts the QEMU guest agent (cloud images often lack it).
vendor_data() {
  cat <<'YAML'
#cloud-config
# linus: the QEMU guest agent lets Proxmox report this VM's address.
packages:
  - qemu-guest-agent
runcmd:
  - [systemctl, start, qemu-guest-agent]
YAML
}

# The storage for the guest-agent vendor-data (SNIPPETS_STORAGE): --snippets-storage (it must hold
# snippets on the node), else one the node has (FACTS[snippets]); none when the image ships the agent.
choose_snippets_storage() {
  local want=${SPEC[snippets_storage]:-}
  SNIPPETS_STORAGE=""
  [[ "${SPEC[image_agent]}" != 1 && -z "${SPEC[no_agent_why]:-}" ]] || return 0
  if [[ -z "$want" ]]; then
    SNIPPETS_STORAGE=${FACTS[snippets]:-}
    return 0
  fi
  [[ ",${FACTS[snippets_all]:-}," == *",$want,"* ]] ||
    die STORAGE_NOT_FOUND "storage '$want' holds no snippets on node '${SPEC[node]}' (storages with snippets: ${FACTS[snippets_all]:-none}); 'linus doctor' shows how to add them"
  SNIPPETS_STORAGE=$want
}

# Points SNIPPET_VOLID at the guest-agent vendor-data on SNIPPETS_STORAGE, writing it once; the
# path from `pvesm path` is cached under <remote-dir>/snippets so later runs skip that call.
# Without it the address must come from a probe (plan_address_discovery), or nothing is created.
prepare_snippet() { # <dry-run 0|1>
  local storage=$SNIPPETS_STORAGE volid path cache
  [[ -n "$storage" ]] || return 0
  volid="$storage:snippets/$SNIPPET_NAME"
  cache="${SPEC[remote_dir]}/snippets/$storage.path"
  if [[ -f "$cache" ]]; then
    path=$(<"$cache")
    if [[ -f "$path" ]] && cmp -s "$path" <(vendor_data); then
      SNIPPET_VOLID=$volid
      return 0
    fi
  fi
  if ! pve pvesm path "$volid" || [[ ! "$PVE_OUT" =~ ^/[^[:cntrl:]]+$ ]]; then
    _without_snippet "no path for $volid"
    return 0
  fi
  path=$PVE_OUT
  SNIPPET_VOLID=$volid
  if (($1)); then
    log "would write the guest-agent vendor-data to $path"
    return 0
  fi
  if ! { mkdir -p -- "${path%/*}" "${cache%/*}" && vendor_data >"$path.tmp.$$" && chmod 0644 "$path.tmp.$$" &&
    mv -f -- "$path.tmp.$$" "$path" && printf '%s' "$path" >"$cache"; }; then
    rm -f -- "$path.tmp.$$"
    SNIPPET_VOLID=""
    _without_snippet "cannot write $path"
  fi
}

# The vendor-data cannot be placed: no agent then, so the address must come from a probe.
_without_snippet() { # <reason>
  ADDR_AGENT=0
  [[ -n "$PROBE_CIDR" || "${SPEC[ip]}" != dhcp ]] ||
    die IP_DISCOVERY_UNAVAILABLE "$1, so no guest agent for the address of a DHCP guest on $GUEST_NET, and the node has no address there to probe it from"
  log "$1; going on without the guest-agent vendor-data"
}

# A generated password: four groups of five letters/digits (about 119 bits). The dots keep each
# run short enough that ssh-mcp's entropy redaction leaves the one line that shows it alone.
_new_password() {
  perl -e 'open(my $r, "<:raw", "/dev/urandom") or die; my @c = ("a".."z", "A".."Z", 0..9); my @g;
    for (1..4) { my $s = ""; while (length $s < 5) { read($r, my $b, 1) == 1 or die; my $v = ord $b;
      $s .= $c[$v % 62] if $v < 248 } push @g, $s } print join(".", @g), "\n"'
}

# SHA-256 crypt ($5$) of the password read on stdin: the plaintext never appears in an argv.
_crypt_password() {
  perl -e 'my $pw = <STDIN>; chomp $pw; open(my $r, "<:raw", "/dev/urandom") or die; read($r, my $b, 12) == 12 or die;
    my @c = ("a".."z", "A".."Z", 0..9, ".", "/"); my $salt = join "", map { $c[ord($_) % 64] } split //, $b;
    my $h = crypt($pw, "\$5\$$salt\$"); die "no sha256-crypt\n" unless defined $h && $h =~ /^\$5\$/; print "$h\n"'
}

# Cloud-init inputs: the key file and, on request, a new password kept in a 0600 file of the job
# (shown once by wait, never logged) with only its hash passed to qm.
prepare_cloudinit() { # <job dir> <dry-run 0|1>
  local pw
  if [[ -n "${SPEC[ssh_key_b64]:-}" ]] && ! (($2)); then
    write_keys_file "$1/sshkeys"
  fi
  if [[ "${SPEC[password]}" == 1 ]]; then
    if (($2)); then
      PASSWORD_HASH="<hidden>"
    else
      pw=$(_new_password) || die INTERNAL "cannot generate a password"
      PASSWORD_HASH=$(_crypt_password <<<"$pw") || die INTERNAL "cannot hash the password"
      printf '%s\n' "$pw" >"$1/password"
    fi
  fi
  prepare_snippet "$2"
}

_ipconfig() {
  if [[ "${SPEC[ip]}" == dhcp ]]; then
    echo "ip=dhcp"
  else
    echo "ip=${SPEC[ip]}${SPEC[gateway]:+,gw=${SPEC[gateway]}}"
  fi
}

# linus' ownership tags, the fleet's and the ones asked for (`;`-separated, as qm stores them).
_create_tags() {
  local joined="linus;linus-${SPEC[run_id]}"
  [[ -z "${SPEC[fleet]:-}" ]] || joined+=";linus-fleet-${SPEC[fleet]}"
  [[ -z "${SPEC[tags]:-}" ]] || joined+=";${SPEC[tags]}"
  echo "$joined"
}

# The one `qm create` argv (without the ID): hardware, disk import, cloud-init, ownership tags.
build_create_args() { # <job dir> <version>
  local net="virtio,bridge=${SPEC[bridge]}${SPEC[vlan]:+,tag=${SPEC[vlan]}}" storage=${SPEC[storage]}
  CREATE_ARGS=(--name "${SPEC[name]}" --ostype l26 --cores "${SPEC[cores]}" --memory "${SPEC[memory]}"
    --net0 "$net" --scsihw virtio-scsi-pci --scsi0 "$storage:0,import-from=$IMG_PATH"
    --ide2 "$storage:cloudinit" --boot order=scsi0 --serial0 socket --vga serial0 --cpu "${SPEC[cpu]}"
    --tags "$(_create_tags)" --description "$(spec_summary "$2")${SPEC[description]:+$'\n'${SPEC[description]}}"
    --ciuser "${SPEC[user]}" --ipconfig0 "$(_ipconfig)" --ciupgrade "${SPEC[upgrade]}")
  # Only where an agent will answer: an enabled agent nobody serves makes 8.2's shutdown wait its
  # whole timeout (reference §15.6) and every agent query wait 3 s.
  ((!ADDR_AGENT)) || CREATE_ARGS+=(--agent enabled=1)
  [[ -z "${SPEC[ssh_key_b64]:-}" ]] || CREATE_ARGS+=(--sshkeys "$1/sshkeys")
  [[ -z "$PASSWORD_HASH" ]] || CREATE_ARGS+=(--cipassword "$PASSWORD_HASH")
  [[ -z "${SPEC[dns]:-}" ]] || CREATE_ARGS+=(--nameserver "${SPEC[dns]}")
  [[ -z "${SPEC[search_domain]:-}" ]] || CREATE_ARGS+=(--searchdomain "${SPEC[search_domain]}")
  [[ -z "$SNIPPET_VOLID" ]] || CREATE_ARGS+=(--cicustom "vendor=$SNIPPET_VOLID")
  return 0
}

# Candidate IDs: the first CLAIM_TRIES from 100 up that /cluster/resources lists for no VM or CT.
# It lists every guest of the cluster from the vmlist nextid reads (reference §9, §10), so no
# nextid call is needed; neither reserves anything: `qm create` (or `qm clone`) is the claim.
pick_vm_ids() { # <resources json> <epoch the read started>
  local ids
  ids=$(perl -e "$(_resources_perl)"' print join(" ", free_ids(read_resources(), $ARGV[0])), "\n";' "$CLAIM_TRIES" <<<"$1") ||
    die INTERNAL "cannot parse /cluster/resources"
  read -r -a FREE_IDS <<<"$ids"
  ((${#FREE_IDS[@]})) || die CREATE_FAILED "no free VM ID from 100 to 999999 on the cluster"
  IDS_SEEN=$2
}

# Creates the VM with the first candidate ID; one taken meanwhile (`VM <id> already exists on
# node ...`) moves on to the next. The ID is recorded in the job directory before `qm create`
# runs (claim.sh). Prints LINUS_VM_ID once the ID is ours.
create_vm() {
  local id i
  for ((i = 0; i < ${#FREE_IDS[@]}; i++)); do
    id=${FREE_IDS[i]}
    if ! claim_record "$id" "${SPEC[storage]}" "$IDS_SEEN"; then
      log "VM ID $id is being claimed by another run on this host"
      continue
    fi
    CLAIM_ID=$id
    if pve qm create "$id" "${CREATE_ARGS[@]}"; then
      VM_ID=$id
      # Other runs of this host skip it while this job runs (claim_record).
      [[ -z "$JOB_DIR" ]] || _write_file "$JOB_DIR/vmid" "$id"$'\n'
      claim_clear
      emit VM_ID "$id"
      return 0
    fi
    [[ "$PVE_ERR" =~ (VM|CT)\ $id\ already\ exists ]] || pve_fail CREATE_FAILED "qm create $id failed"
    CLAIM_ID=""
    claim_clear
    log_id_taken "$id" "$i"
  done
  die_ids_exhausted
}

log_id_taken() { # <vmid> <index in FREE_IDS>
  if (($2 + 1 < ${#FREE_IDS[@]})); then
    log "VM ID $1 is taken; trying ${FREE_IDS[$2 + 1]}"
  else
    log "VM ID $1 is taken"
  fi
}

die_ids_exhausted() {
  die ID_CLAIM_EXHAUSTED "VM IDs ${FREE_IDS[*]} were all taken while we tried"
}

# A key of VM_CONFIG into <var> (current values only, not the [PENDING] or snapshot sections);
# false without it. No command substitution: a provision checks a dozen keys.
config_value() { # <var> <key>
  local line
  while IFS= read -r line; do
    [[ "$line" == \[* ]] && break
    if [[ "$line" == "$2: "* ]]; then
      printf -v "$1" '%s' "${line#"$2: "}"
      return 0
    fi
  done <<<"$VM_CONFIG"
  return 1
}

# The same, printed.
config_get() { # <key>
  local value
  config_value value "$1" || return 1
  echo "$value"
}

# format_size back to bytes: 20G, 2252M, 1024K or plain bytes.
size_bytes() { # <size>
  [[ "$1" =~ ^([0-9]+)([KMGT]?)$ ]] || return 1
  local n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
  case "$unit" in
    K) echo $((n * 1024)) ;;
    M) echo $((n * 1024 ** 2)) ;;
    G) echo $((n * 1024 ** 3)) ;;
    T) echo $((n * 1024 ** 4)) ;;
    *) echo "$n" ;;
  esac
}

# Whether VM_CONFIG carries the tag linus-<run-id> (Proxmox accepts ; , and space between tags,
# and may keep them in any case: `qm create` stores them as passed).
config_has_run_tag() { # <run-id>
  local tags tag
  local -a list=()
  config_value tags tags || return 1
  read -ra list <<<"${tags//[;,]/ }"
  for tag in "${list[@]}"; do
    [[ "${tag,,}" == "linus-$1" ]] && return 0
  done
  return 1
}

# Whether VM_CONFIG carries this run's tag.
config_is_ours() {
  config_has_run_tag "${SPEC[run_id]}"
}

# Grows scsi0, then reads the config once and checks the size: `qm resize` exits 0 even when it
# fails, so only the config tells.
resize_disk() {
  local disk=${SPEC[disk]} want resize_err resize_stderr scsi0 size have
  want=$((disk * 1024 ** 3))
  pve qm resize "$VM_ID" scsi0 "${SPEC[disk]}G" || pve_fail RESIZE_FAILED "qm resize $VM_ID failed"
  resize_err=$(pve_message)
  resize_stderr=$PVE_ERR
  [[ -n "$PVE_ERR" ]] || resize_err=""
  pve qm config "$VM_ID" || pve_fail CREATE_FAILED "cannot read the config of VM $VM_ID"
  VM_CONFIG=$PVE_OUT
  config_value scsi0 scsi0 || die CREATE_FAILED "VM $VM_ID has no scsi0 disk"
  [[ ",$scsi0," =~ ,size=([0-9]+[KMGT]?), ]] || die RESIZE_FAILED "VM $VM_ID scsi0 has no size: $scsi0"
  size=${BASH_REMATCH[1]}
  have=$(size_bytes "$size")
  ((have == want)) && return 0
  # The worker exits 0 on a lock timeout too: the same mapping as pve_fail.
  if [[ "$resize_stderr" == *"can't lock file"*"got timeout"* || "$resize_stderr" == *"VM is locked"* ]]; then
    die LOCK_TIMEOUT "qm resize $VM_ID: $resize_err"
  fi
  die RESIZE_FAILED "disk of VM $VM_ID is $size, not ${SPEC[disk]}G${resize_err:+: $resize_err}"
}

_expect() { # <key> <wanted value>
  local have
  config_value have "$1" || have="(unset)"
  [[ "$have" == "$2" ]] || die CREATE_FAILED "VM $VM_ID config has $1 '$have', expected '$2'"
}

# Step 4 checks on the config read by resize_disk: ownership, CPU, memory, NIC; keeps net0's MAC.
verify_hardware() {
  local net0
  config_is_ours || die CREATE_FAILED "VM $VM_ID does not carry the tag linus-${SPEC[run_id]}"
  _expect cores "${SPEC[cores]}"
  _expect memory "${SPEC[memory]}"
  _expect cpu "${SPEC[cpu]}"
  if ((ADDR_AGENT)); then _expect agent enabled=1; else _expect agent "(unset)"; fi
  config_value net0 net0 || die CREATE_FAILED "VM $VM_ID has no net0"
  [[ "$net0" =~ ^virtio=([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}), ]] || die CREATE_FAILED "VM $VM_ID net0 has no MAC: $net0"
  VM_MAC=${BASH_REMATCH[1],,}
  [[ ",$net0," == *",bridge=${SPEC[bridge]},"* ]] || die CREATE_FAILED "VM $VM_ID net0 is not on bridge ${SPEC[bridge]}: $net0"
  if [[ -n "${SPEC[vlan]:-}" ]]; then
    [[ ",$net0," == *",tag=${SPEC[vlan]},"* ]] || die CREATE_FAILED "VM $VM_ID net0 is not on VLAN ${SPEC[vlan]}: $net0"
  elif [[ ",$net0," == *,tag=* ]]; then
    die CREATE_FAILED "VM $VM_ID net0 has a VLAN tag that was not asked for: $net0"
  fi
  log "VM $VM_ID: ${SPEC[cores]} cores, ${SPEC[memory]} MiB, ${SPEC[disk]} GiB, MAC $VM_MAC"
}

# Step 5 checks: the cloud-init settings of the same config.
verify_cloudinit() {
  local keys
  _expect ciuser "${SPEC[user]}"
  _expect ipconfig0 "$(_ipconfig)"
  _expect ciupgrade "${SPEC[upgrade]}"
  [[ -z "${SPEC[dns]:-}" ]] || _expect nameserver "${SPEC[dns]}"
  [[ -z "${SPEC[search_domain]:-}" ]] || _expect searchdomain "${SPEC[search_domain]}"
  [[ -z "$SNIPPET_VOLID" ]] || _expect cicustom "vendor=$SNIPPET_VOLID"
  if [[ -n "${SPEC[ssh_key_b64]:-}" ]]; then
    config_value keys sshkeys || die CREATE_FAILED "VM $VM_ID has no sshkeys"
    keys=$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$keys")
    keys_match "$keys" || die CREATE_FAILED "VM $VM_ID sshkeys differ from the keys given"
  fi
  if [[ "${SPEC[password]}" == 1 ]]; then
    config_get cipassword >/dev/null || die CREATE_FAILED "VM $VM_ID has no cipassword"
  fi
  log "cloud-init: user ${SPEC[user]}, $(_ipconfig)${SNIPPET_VOLID:+, vendor-data $SNIPPET_VOLID}"
}

start_vm() {
  START_TRIED=1
  pve qm start "$VM_ID" || pve_fail START_FAILED "qm start $VM_ID failed"
}

# Removes the VM this run created, with its disks and cloud-init volume. Waits for a Proxmox call
# still in flight (never kills it), then checks ownership: a VM carrying our run tag is destroyed;
# one that is still only our claim (a `qm create` of ours killed half-way: `lock: create` and no
# more) is removed with the volumes it made (claim.sh); a VM that won an ID race against us, or any
# other VM, is left alone. Safe to call twice. What it could not remove is added to the failure message.
rollback() {
  local id=$CLAIM_ID
  [[ -n "$id" ]] || return 0
  CLAIM_ID=""
  if [[ -n "$PVE_PID" ]]; then
    log "rollback: waiting for the Proxmox call in flight to finish"
    wait "$PVE_PID" 2>/dev/null || true
    PVE_PID=""
  fi
  log "rollback: checking VM $id"
  claim_check "$id" "${SPEC[run_id]}"
  case "$CLAIM_STATE" in
    gone)
      log "rollback: VM $id does not exist; nothing to remove"
      claim_clear
      ;;
    unreadable) fail_note "rollback: cannot read VM $id ($CLAIM_REASON); check it by hand" ;;
    tagged)
      claim_clear
      # Kept only for a failure: a cancel still rolls back. The VM keeps its tags linus and
      # linus-<run-id>, so gc removes it as the leftover of a failed run once it is old enough.
      if ((${SPEC[keep_on_failure]:-0})) && [[ "$FAIL_CODE" != CANCELLED ]]; then
        log "rollback: VM $id kept for inspection (--keep-on-failure), tagged linus-${SPEC[run_id]}"
        # shellcheck disable=SC2034 # read by failure_block (result.sh)
        KEPT_VM=$id
      else
        rollback_destroy "$id"
      fi
      ;;
    claim)
      log "rollback: VM $id is only our claim (its qm create never finished): removing it"
      if claim_remove "$id" "${SPEC[storage]}"; then
        claim_clear
      elif ((CLAIM_FAILED)); then
        fail_note "rollback: VM $id was not removed ($CLAIM_REASON)"
      else
        log "rollback: VM $id left alone ($CLAIM_REASON); gc looks at it again"
      fi
      ;;
    *)
      log "rollback: VM $id is not tagged linus-${SPEC[run_id]}; leaving it alone"
      claim_clear
      ;;
  esac
}

# The end of every rollback, once the VM is known to be this run's: stop it if it was started,
# then destroy it with its volumes; a failure is noted in the failure block.
rollback_destroy() { # <vmid>
  local id=$1
  if ((START_TRIED)) && ! pve qm stop "$id"; then
    log "rollback: qm stop $id failed: $(pve_message)"
  fi
  if ! pve qm destroy "$id" --purge 1; then
    fail_note "rollback: VM $id was not removed ($(pve_message)); remove it with 'qm destroy $id --purge 1'"
    return 0
  fi
  log "rollback: VM $id and its volumes removed"
}
