# shellcheck shell=bash
# linus doctor on the host (docs/doctor.md): one read-mostly pass over what a DHCP provision with
# these settings would meet, one LINUS_DATA line per check. The verdicts come from the
# provisioner's own step-1 functions (check_tools, check_pve_version, check_cluster,
# check_bridge, choose_snippets_storage, plan_address_discovery), run by doctor_try so that a
# refusal is recorded instead of ending the pass: doctor and provision cannot disagree. Doctor
# adds what each check saw and the command that fixes it. doctor-fix applies the one safe fix.

# What the last doctor_try saw: the code and message its refusal died with (empty when it
# passed), its last log line, the LINUS_WARNING lines it printed, and the facts and decisions it
# left behind (FACT_<key>, ADDR_AGENT, PROBE_CIDR, SNIPPETS_STORAGE, and PVE_LINE: the first line
# of the last Proxmox answer it read).
TRY_CODE=""
TRY_MSG=""
TRY_LOG=""
TRY_WARNINGS=()
declare -gA TRY_STATE=()
# Whether --bridge failed its check (address discovery is then not checked).
BRIDGE_FAILED=0
# The safe fix for snippets, when one exists: `pvesm set <storage> --content <content>`.
FIX_STORAGE=""
FIX_CONTENT=""
FIX_COMMAND=""
# Plugin types whose content may include snippets (pve-storage plugindata). Which types can
# allocate VM disks is check_cluster's business (host.sh ALLOC_STORAGE_TYPES).
readonly SNIPPETS_TYPES=" dir btrfs nfs cifs cephfs glusterfs "
# Where no storage of the node can take snippets: a new one (not a safe fix, never applied).
readonly NEW_SNIPPETS_STORAGE="pvesm add dir linus-snippets --path /var/lib/linus-snippets --content snippets"
# The default --cpu x86-64-v2-AES is qemu64 plus these flags (/proc/cpuinfo names), and
# qemu-server adds `enforce` for KVM guests, so a host CPU without one of them cannot start the VM
# (qemu-server 9.x CPUConfig.pm l.67-74, l.928-931). x86-64-v2 is the same without aes.
readonly CPU_V2_FLAGS="popcnt pni sse4_1 sse4_2 ssse3"
# Below this much free space in the remote dir a new image download may not fit.
readonly REMOTE_DIR_MIN_FREE_KIB=$((3 * 1024 * 1024))
# Package of each tool the provisioner calls (Proxmox VE on Debian).
declare -grA TOOL_PACKAGE=([qm]=qemu-server [pvesh]=pve-manager [pvesm]=libpve-storage-perl [pveversion]=pve-manager
  [flock]=util-linux [setsid]=util-linux [sha256sum]=coreutils [sha512sum]=coreutils [base64]=coreutils)

# The state a try leaves: key=value lines (facts hold no newlines; see _facts_program).
_try_dump() { # <code> <message>
  local key line
  printf 'CODE=%s\nMSG=%s\n' "$1" "$2"
  for key in "${!FACTS[@]}"; do printf 'FACT_%s=%s\n' "$key" "${FACTS[$key]}"; done
  printf 'ADDR_AGENT=%s\nPROBE_CIDR=%s\nSNIPPETS_STORAGE=%s\n' "$ADDR_AGENT" "$PROBE_CIDR" "$SNIPPETS_STORAGE"
  one_line line "${PVE_OUT%%$'\n'*}" 300
  printf 'PVE_LINE=%s\n' "$line"
}

# Runs a provisioner function in a subshell where die records the refusal (the first one wins:
# die may run inside a $( ) first) and ends only that subshell. Its Proxmox calls still go to the
# log; its LINUS_WARNING lines are kept in TRY_WARNINGS. FACTS takes what the function left.
doctor_try() { # <function> <arg...>
  local result="$WORK_DIR/try.result" status key value line
  rm -f -- "$result"
  set +e
  (
    set -e
    # shellcheck disable=SC2317 # called from the function under test
    die() {
      local msg
      one_line msg "${*:2}" 300
      [[ -e "$result" ]] || _try_dump "$1" "$msg" >"$result"
      exit 1
    }
    "$@"
    [[ -e "$result" ]] || _try_dump "" "" >"$result"
  ) >"$WORK_DIR/try.out" 2>"$WORK_DIR/try.err"
  status=$?
  set -e
  cat -- "$WORK_DIR/try.err" >&2
  TRY_STATE=() TRY_WARNINGS=() TRY_LOG=""
  if [[ -f "$result" ]]; then
    while IFS='=' read -r key value; do TRY_STATE[$key]=$value; done <"$result"
    FACTS=()
    for key in "${!TRY_STATE[@]}"; do
      [[ "$key" == FACT_* ]] && FACTS[${key#FACT_}]=${TRY_STATE[$key]}
    done
  else
    TRY_STATE[CODE]=INTERNAL TRY_STATE[MSG]="$1 ended with exit status $status"
  fi
  TRY_CODE=${TRY_STATE[CODE]} TRY_MSG=${TRY_STATE[MSG]}
  while IFS= read -r line; do
    [[ "$line" == LINUS_WARNING:* ]] && TRY_WARNINGS+=("${line#LINUS_WARNING:}")
  done <"$WORK_DIR/try.out"
  while IFS= read -r line; do
    [[ "$line" == "linus: "* && ! "$line" =~ ^linus:\ (call:|qm:|pvesh:|pvesm:|pveversion:|error\ \[|warning:) ]] && TRY_LOG=${line#linus: }
  done <"$WORK_DIR/try.err"
  return 0
}

# One check: {"kind":"check","id","status","message","fix"} (fix null when there is none).
# Status: ok, warn, fail, or skip (not checked because an earlier check failed).
_check() { # <id> <ok|warn|fail|skip> <message> [fix]
  local -a fields=("s:kind=check" "s:id=$1" "s:status=$2" "s:message=$3")
  if [[ -n "${4:-}" ]]; then fields+=("s:fix=$4"); else fields+=("z:fix="); fi
  emit_data "${fields[@]}" >>"$WORK_DIR/doctor.data"
}

_gib() { # <bytes>
  local tenths=$((($1 * 10 + 536870912) / 1073741824))
  echo "$((tenths / 10)).$((tenths % 10)) GiB"
}

# The spec of a default DHCP provision with the given settings (what the checks evaluate).
_doctor_spec() {
  local row os_id agent _
  SPEC=([remote_dir]=${OPT[remote_dir]} [node]=${OPT[node]:-} [storage]=${OPT[storage]:-} [snippets_storage]=${OPT[snippets_storage]:-}
    [bridge]=${OPT[bridge]:-vmbr0} [vlan]=${OPT[vlan]:-} [os]=${OPT[os]:-ubuntu} [ip]=dhcp [name]=- [disk]=20 [memory]=2048 [capacity]=check)
  need_target
  row=$(_os_row "${SPEC[os]}") || die INVALID_SPEC "--os must be one of $OS_NAMES"
  read -r os_id _ agent _ <<<"$row"
  SPEC[os]=$os_id
  SPEC['image_agent']=$agent
}

# tools.host, tools.download, tools.perl-json; then check_tools itself, so a tool it needs that
# these checks do not name still fails (as `tools`).
_doctor_tools() {
  local tool failed=0
  local -a missing=() packages=()
  doctor_try check_tools
  for tool in $HOST_TOOLS; do
    command -v "$tool" >/dev/null 2>&1 && continue
    missing+=("$tool")
    [[ " ${packages[*]} " == *" ${TOOL_PACKAGE[$tool]} "* ]] || packages+=("${TOOL_PACKAGE[$tool]}")
  done
  if ((${#missing[@]})); then
    _check tools.host fail "not on PATH: ${missing[*]} (is this a Proxmox VE node?)" "apt-get install ${packages[*]}"
    failed=1
  else
    _check tools.host ok "qm, pvesh, pvesm, pveversion, flock, setsid, sha256sum, sha512sum and base64 are installed"
  fi
  if command -v curl >/dev/null 2>&1; then
    _check tools.download ok "curl downloads the images"
  elif [[ "$TRY_CODE" == MISSING_DEPENDENCY && "$TRY_MSG" == *"'curl'"* ]]; then
    _check tools.download fail "curl is not installed${TRY_MSG:+: $TRY_MSG}" "apt-get install curl"
    failed=1
  elif command -v wget >/dev/null 2>&1; then
    _check tools.download ok "wget downloads the images (curl is not installed)"
  else
    _check tools.download fail "neither curl nor wget is installed: images cannot be downloaded" "apt-get install curl"
    failed=1
  fi
  if perl -MJSON::PP -MIO::Socket::INET -MPOSIX -e 1 2>/dev/null; then
    _check tools.perl-json ok "perl with JSON::PP, IO::Socket::INET and POSIX"
  else
    _check tools.perl-json fail "perl or its core modules JSON::PP, IO::Socket::INET, POSIX are missing" "apt-get install perl"
    failed=1
  fi
  if [[ -n "$TRY_CODE" ]] && ((!failed)); then
    _check tools fail "$TRY_MSG" "${CODE_REMEDIATION[$TRY_CODE]}"
  fi
}

_doctor_version() {
  local line
  doctor_try check_pve_version
  line=${TRY_STATE[PVE_LINE]:-}
  if [[ -n "$TRY_CODE" ]]; then
    _check pve.version fail "$TRY_MSG" "upgrade the host to Proxmox VE 8 or 9 (pve7to8 --full, then the Proxmox upgrade guide)"
  else
    _check pve.version ok "$line: ${TRY_LOG:-Proxmox VE} is supported"
  fi
}

# Reads /cluster/resources JSON on stdin; after the mode come SNIPPETS_TYPES, the node and an id.
# `nodes` prints "<node> <status>" per node; `storage
# <node> <id>` prints "<plugintype> <status> <content> <total> <used>"; `snippets-fix <node>
# <id|"">` prints "<id> <content>" of the storage a safe fix would give snippets: the one named
# (if its type can hold them), else an available dir storage of the node, `local` first.
_doctor_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my ($mode, $types, $node, $id) = @ARGV;
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.,:+-]//g; $v eq "" ? "-" : $v };
my @all = grep { ref $_ eq "HASH" } @$res;
my @st = sort { ($a->{storage} eq "local" ? 0 : 1) <=> ($b->{storage} eq "local" ? 0 : 1) || $a->{storage} cmp $b->{storage} }
  grep { ($_->{type} // "") eq "storage" && ($_->{node} // "") eq ($node // "") && defined $_->{storage} } @all;
if ($mode eq "nodes") {
  print $clean->($_->{node}), " ", $clean->($_->{status} // "unknown"), "\n"
    for sort { $a->{node} cmp $b->{node} } grep { ($_->{type} // "") eq "node" && defined $_->{node} } @all;
} elsif ($mode eq "storage") {
  my ($s) = grep { $_->{storage} eq $id } @st;
  exit 1 unless $s;
  print join(" ", map { $clean->($_) } $s->{plugintype}, $s->{status}, $s->{content}), " ", int($s->{maxdisk} // 0), " ", int($s->{disk} // 0), "\n";
} elsif ($mode eq "snippets-fix") {
  my @ok = grep { ($_->{status} // "") eq "available" } @st;
  my $takes = sub { my $t = $_[0]{plugintype} // ""; $t ne "" && index(" $types ", " $t ") >= 0 };
  my ($s) = $id ne "" ? grep { $_->{storage} eq $id && $takes->($_) } @ok : grep { ($_->{plugintype} // "") eq "dir" } @ok;
  exit 1 unless $s;
  my @content = grep { $_ ne "" && $_ ne "none" } split /,/, ($s->{content} // "");
  print $clean->($s->{storage}), " ", join(",", @content, "snippets"), "\n";
} else { die "unknown mode $mode\n" }
PERL
}

_doctor_resources() { # <mode> <arg...>
  perl -e "$(_doctor_program)" "$1" "$SNIPPETS_TYPES" "${@:2}" <<<"$RESOURCES_JSON"
}

# node.online, node.local, node.memory, storage.images: check_cluster (with a default disk and
# memory) decides, /cluster/resources adds what it saw.
_doctor_cluster() {
  local node others="" name status type content total used message fix
  if ! pve pvesh get /cluster/resources --output-format json; then
    _check node.online fail "cannot read /cluster/resources: $(pve_message)" "systemctl status pve-cluster"
    return 1
  fi
  RESOURCES_JSON=$PVE_OUT
  doctor_try check_cluster
  node=${FACTS[node]:-}
  SPEC[node]=$node SPEC[storage]=${FACTS[storage]:-}
  while read -r name status; do
    [[ "$name" == "$node" ]] || others+=", $name $status"
  done < <(_doctor_resources nodes)
  case "$TRY_CODE" in
    NODE_NOT_FOUND | NODE_OFFLINE)
      _check node.online fail "$TRY_MSG" "pass --node with an online node${others:+ (${others#, })}"
      return 1
      ;;
  esac
  _check node.online ok "node $node is ${FACTS[node_status]}${others:+ (other nodes: ${others#, })}"
  if [[ "$TRY_CODE" == VM_ON_OTHER_NODE ]]; then
    _check node.local fail "$TRY_MSG" "run linus against node $node's own address, or pass --node ${FACTS[local_node]}"
  else
    _check node.local ok "this host is node $node: qm creates the VMs here"
  fi

  local mem_total=${FACTS[node_mem_total]:-0} mem_used=${FACTS[node_mem_used]:-0}
  message="$(_gib $((mem_total - mem_used))) free of $(_gib "$mem_total")"
  if [[ "$TRY_CODE" == INSUFFICIENT_MEMORY || ("$TRY_CODE" == CAPACITY_EXCEEDED && "$TRY_MSG" == *"memory of node"*) ]]; then
    _check node.memory fail "$TRY_MSG" "free memory on node $node, or provision with less --memory"
  elif [[ " ${TRY_WARNINGS[*]} " == *"memory of node"* ]]; then
    _check node.memory warn "$message: a 2048 MiB VM takes it past $CAPACITY_WARN_PCT %" "free memory on node $node"
  else
    _check node.memory ok "$message"
  fi

  fix="pass --storage with a storage that has images content ('pvesm status --content images')"
  if [[ "$TRY_CODE" == STORAGE_NOT_FOUND || "$TRY_CODE" == INSUFFICIENT_STORAGE || ("$TRY_CODE" == CAPACITY_EXCEEDED && "$TRY_MSG" == *"storage '"*) ]]; then
    _check storage.images fail "$TRY_MSG" "$fix"
  elif ! read -r type _ content total used < <(_doctor_resources storage "$node" "${SPEC[storage]}"); then
    _check storage.images skip "not checked: ${TRY_MSG:-storage ${SPEC[storage]} is not listed}"
  else
    message="${SPEC[storage]} ($type, content $content): $(_gib $((total - used))) free of $(_gib "$total")"
    if [[ " ${TRY_WARNINGS[*]} " == *"storage '"* ]]; then
      _check storage.images warn "$message: a 20 GiB disk takes it past $CAPACITY_WARN_PCT %" "free space on ${SPEC[storage]}, or pass another --storage"
    else
      _check storage.images ok "$message"
    fi
  fi
}

# cpu.x86-64-v2: whether the node's CPU runs the default --cpu x86-64-v2-AES (and x86-64-v2, which
# the RHEL 9 family needs).
_doctor_cpu() {
  local node=${SPEC[node]} flags flag lacking=""
  if ! pve pvesh get "/nodes/$node/status" --output-format json; then
    _check cpu.x86-64-v2 warn "cannot read the CPU flags of node $node: $(pve_message)"
    return 0
  fi
  flags=$(perl -e "$PERL_JSON"'my $d = eval { decode_json(do { local $/; <STDIN> }) }; exit 1 unless ref $d eq "HASH" && ref $d->{cpuinfo} eq "HASH";
    my $f = $d->{cpuinfo}{flags} // ""; $f =~ s/[^\w ]//g; print $f' <<<"$PVE_OUT") || flags=""
  for flag in $CPU_V2_FLAGS; do
    [[ " $flags " == *" $flag "* ]] || lacking+=" $flag"
  done
  if [[ -n "$lacking" ]]; then
    _check cpu.x86-64-v2 fail "the CPU of node $node lacks${lacking}: no x86-64-v2 CPU type (the default x86-64-v2-AES) starts there, and rocky and almalinux cannot run" \
      "provision with --cpu kvm64 (ubuntu and debian only)"
  elif [[ " $flags " != *" aes "* ]]; then
    _check cpu.x86-64-v2 fail "the CPU of node $node has x86-64-v2 but no aes: the default --cpu x86-64-v2-AES does not start there" "provision with --cpu x86-64-v2"
  else
    _check cpu.x86-64-v2 ok "the CPU of node $node has x86-64-v2 and aes: the default --cpu x86-64-v2-AES starts, rocky and almalinux run"
  fi
}

# storage.snippets: where vendor-data that installs the guest agent would go (choose_snippets_storage
# for an image without the agent), and the safe fix when there is none.
_doctor_snippets() {
  local node=${SPEC[node]} agent=${SPEC[image_agent]}
  SPEC[image_agent]=0
  doctor_try choose_snippets_storage
  SPEC['image_agent']=$agent
  FIX_STORAGE="" FIX_CONTENT="" FIX_COMMAND=""
  if [[ -z "${TRY_STATE[SNIPPETS_STORAGE]:-}" ]] &&
    read -r FIX_STORAGE FIX_CONTENT < <(_doctor_resources snippets-fix "$node" "${SPEC[snippets_storage]}"); then
    FIX_COMMAND="pvesm set $FIX_STORAGE --content $FIX_CONTENT"
  fi
  if [[ -n "$TRY_CODE" ]]; then
    _check storage.snippets fail "$TRY_MSG" "${FIX_COMMAND:-pass --snippets-storage with a storage that holds snippets}"
  elif [[ -n "${TRY_STATE[SNIPPETS_STORAGE]:-}" ]]; then
    _check storage.snippets ok "${TRY_STATE[SNIPPETS_STORAGE]} holds snippets: linus adds the guest agent (vendor-data) to images without one"
  else
    _check storage.snippets warn "no storage on node $node holds snippets: images without a guest agent (ubuntu, debian) can only be found by a probe of the node's own network" "${FIX_COMMAND:-$NEW_SNIPPETS_STORAGE}"
  fi
  if [[ -n "$FIX_COMMAND" ]]; then
    emit_data "s:kind=fix" "s:id=storage.snippets" "s:storage=$FIX_STORAGE" "s:content=$FIX_CONTENT" "s:command=$FIX_COMMAND" >>"$WORK_DIR/doctor.data"
  fi
}

# bridge.<name> for every bridge and VNet of the node (type, VLAN awareness, the node's own
# address), with check_bridge's verdict on --bridge.
_doctor_bridges() {
  local node=${SPEC[node]} target=${SPEC[bridge]} iface type aware cidr message seen=0 names=""
  doctor_try check_bridge
  if pve pvesh get "/nodes/$node/network" --type any_bridge --output-format json; then
    while read -r iface type aware cidr; do
      [[ "$iface" =~ $BRIDGE_RE ]] || continue
      names+=" $iface"
      message=$type
      [[ "$aware" == 1 ]] && message+=", VLAN-aware"
      if [[ "$cidr" == - ]]; then
        [[ "$type" == vnet ]] || message+=", the node has no address on it"
      else
        message+=", the node's address $cidr"
      fi
      if [[ "$iface" == "$target" ]]; then
        seen=1
        [[ -n "$TRY_CODE" ]] && continue
        message+=" (--bridge)"
      fi
      _check "bridge.$iface" ok "$message"
    done < <(perl -e "$PERL_JSON"'
      my $d = eval { decode_json(do { local $/; <STDIN> }) };
      exit 0 unless ref $d eq "ARRAY";
      for my $i (sort { ($a->{iface} // "") cmp ($b->{iface} // "") } grep { ref $_ eq "HASH" } @$d) {
        my $cidr = $i->{cidr} // ""; $cidr = "-" unless $cidr =~ m{^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$};
        my $aware = ($i->{bridge_vlan_aware} || $i->{vlanaware}) ? 1 : 0;
        my $type = $i->{type} // "-"; $type =~ s/[^\w]//g;
        print join(" ", $i->{iface} // "-", $type || "-", $aware, $cidr), "\n";
      }' <<<"$PVE_OUT")
  fi
  if [[ -n "$TRY_CODE" ]]; then
    _check "bridge.$target" fail "$TRY_MSG" "pass --bridge with one of:${names:- (none listed)}"
    BRIDGE_FAILED=1
  elif ((!seen)); then
    message="(--bridge; not in the applied network list)"
    [[ -z "${FACTS[bridge_cidr]:-}" ]] || message="the node's address ${FACTS[bridge_cidr]} $message"
    _check "bridge.$target" ok "$message"
  fi
}

# network.address-discovery: plan_address_discovery's decision for a DHCP guest of --os on
# --bridge (and --vlan).
_doctor_address() {
  local where="${SPEC[bridge]}${SPEC[vlan]:+ VLAN ${SPEC[vlan]}}"
  if ((BRIDGE_FAILED)); then
    _check network.address-discovery skip "not checked: bridge ${SPEC[bridge]} failed"
    return 0
  fi
  doctor_try plan_address_discovery
  if [[ "$TRY_CODE" == IP_DISCOVERY_UNAVAILABLE ]]; then
    _check network.address-discovery fail "$TRY_MSG" "${FIX_COMMAND:-$NEW_SNIPPETS_STORAGE}"
  elif [[ -n "$TRY_CODE" ]]; then
    _check network.address-discovery fail "$TRY_MSG" "${CODE_REMEDIATION[$TRY_CODE]}"
  else
    _check network.address-discovery ok "a DHCP ${SPEC[os]} guest on $where: ${TRY_LOG#address: }"
  fi
}

# remote-dir (writable, free space) and image-cache (what it holds, partial downloads).
_doctor_remote_dir() {
  local dir=${SPEC[remote_dir]} _ avail mount count=0 kib=0 partial=0 file size
  if ! mkdir -p -- "$dir" 2>/dev/null || ! : >"$dir/.doctor.$$" 2>/dev/null; then
    _check remote-dir fail "$dir is not writable" "mkdir -p $dir && chmod 700 $dir"
    _check image-cache skip "not checked: $dir is not writable"
    return 0
  fi
  rm -f -- "$dir/.doctor.$$"
  { read -r _ && read -r _ _ _ avail _ mount; } < <(df -Pk -- "$dir") || avail=""
  if [[ ! "$avail" =~ ^[0-9]+$ ]]; then
    _check remote-dir warn "$dir is writable, but df does not tell its free space" "df -Pk $dir"
  elif ((avail < REMOTE_DIR_MIN_FREE_KIB)); then
    _check remote-dir warn "$dir: only $(_gib $((avail * 1024))) free on $mount: the next image download may not fit" "linus gc (or free space on $mount)"
  else
    _check remote-dir ok "$dir is writable, $(_gib $((avail * 1024))) free on $mount"
  fi
  for file in "$dir"/images/*.img "$dir"/images/.*.part; do
    [[ -f "$file" ]] || continue
    size=$(stat -c %s -- "$file" 2>/dev/null) || size=0
    if [[ "$file" == *.part ]]; then
      partial=$((partial + 1))
    else
      count=$((count + 1)) kib=$((kib + size / 1024))
    fi
  done
  if ((partial)); then
    _check image-cache warn "$count verified images ($(_gib $((kib * 1024)))) and $partial partial downloads in $dir/images" "linus gc"
  else
    _check image-cache ok "$count verified images ($(_gib $((kib * 1024)))) in $dir/images"
  fi
}

# Usage: doctor [--node N] [--storage S] [--snippets-storage S] [--bridge B] [--vlan N] [--os OS] [--remote-dir DIR]
# Description: what a DHCP provision with these settings would meet, check by check (LINUS_DATA
# kind check, fix, host). Changes nothing but a probe file in the remote dir.
cmd_doctor() {
  ops_parse "node: storage: snippets-storage: bridge: vlan: os: remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 0)) || die INVALID_SPEC "doctor takes no arguments"
  _doctor_spec
  : >"$WORK_DIR/doctor.data"
  _doctor_tools
  _doctor_version
  if _doctor_cluster; then
    _doctor_cpu
    _doctor_snippets
    _doctor_bridges
    _doctor_address
  else
    local id
    for id in node.local node.memory storage.images cpu.x86-64-v2 storage.snippets "bridge.${SPEC[bridge]}" network.address-discovery; do
      _check "$id" skip "not checked: no node to check"
    done
  fi
  _doctor_remote_dir
  emit_data "s:kind=host" "s:node=$(local_node_name)" "n:time=$(date +%s)" >>"$WORK_DIR/doctor.data"
  ops_success <"$WORK_DIR/doctor.data"
}

# Usage: doctor-fix <storage> --content LIST [--remote-dir DIR]
# Description: the safe fix doctor showed, `pvesm set <storage> --content LIST`: LIST must be the
# storage's content now plus snippets (so nothing else changes; refused if the content changed
# since), and the config digest read just before guards against a change in between.
cmd_doctor_fix() {
  ops_parse "content: remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 1)) || die INVALID_SPEC "doctor-fix takes one storage id"
  local storage=${OP_ARGS[0]} want=${OPT[content]:-} type have digest now item what changed=1
  local -a list=()
  local -A want_set=() have_set=([snippets]=1)
  shown what "$storage"
  [[ "$storage" =~ $STORAGE_RE ]] || die INVALID_SPEC "the storage must be a storage id, got $what"
  shown what "$want"
  [[ "$want" =~ ^[a-z]+(,[a-z]+)*$ ]] || die INVALID_SPEC "--content must be a comma-separated list of content types, got $what"
  _storage_read "$storage"
  read -r type have digest <<<"$STORAGE_FACTS"
  [[ " $SNIPPETS_TYPES " == *" $type "* ]] || die STORAGE_NOT_FOUND "storage '$storage' ($type) cannot hold snippets"
  if [[ ",$have," == *,snippets,* ]]; then
    changed=0
  else
    IFS=, read -ra list <<<"$want"
    for item in "${list[@]}"; do want_set[$item]=1; done
    IFS=, read -ra list <<<"$have"
    for item in "${list[@]}"; do [[ "$item" == none || "$item" == - ]] || have_set[$item]=1; done
    [[ "$(printf '%s\n' "${!want_set[@]}" | sort)" == "$(printf '%s\n' "${!have_set[@]}" | sort)" ]] ||
      die HOST_NOT_READY "storage '$storage' now holds '$have', so '$want' would change more than adding snippets: run linus doctor again"
    pve pvesm set "$storage" --content "$want" --digest "$digest" || pve_fail HOST_NOT_READY "pvesm set $storage --content $want failed"
    _storage_read "$storage"
    read -r _ now _ <<<"$STORAGE_FACTS"
    for item in "${!want_set[@]}"; do
      [[ ",$now," == *",$item,"* ]] || die HOST_NOT_READY "storage '$storage' holds '$now' after pvesm set, not '$want'"
    done
    have=$now
  fi
  emit_data "s:op=doctor-fix" "s:storage=$storage" "s:content=$have" "b:changed=$changed" | ops_success
}

# "<type> <content> <digest>" of a storage's config (GET /storage/<id>) in STORAGE_FACTS.
STORAGE_FACTS=""
_storage_read() { # <storage>
  if ! pve pvesh get "/storage/$1" --output-format json; then
    [[ "$PVE_ERR" == *"does not exist"* ]] && die STORAGE_NOT_FOUND "storage '$1' does not exist"
    pve_fail STORAGE_NOT_FOUND "cannot read storage '$1'"
  fi
  STORAGE_FACTS=$(perl -e "$PERL_JSON"'my $d = eval { decode_json(do { local $/; <STDIN> }) }; exit 1 unless ref $d eq "HASH";
    my @v = map { my $v = $d->{$_} // ""; $v =~ s/[^\w.,:+-]//g; $v eq "" ? "-" : $v } qw(type content digest); print "@v\n"' <<<"$PVE_OUT") ||
    die INTERNAL "cannot parse the config of storage '$1'"
}
