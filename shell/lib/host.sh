# shellcheck shell=bash
# Step 1 on the host: tools, PVE version, node, storage, name and bridge, in a fixed number of
# Proxmox calls however many VMs exist (one /cluster/resources read gives node, storage and names;
# VMs created in the last ~10 s add one read per node they are on, see resources_fill_new).

# The node this script runs on: Proxmox names a node after the short host name.
local_node_name() {
  local name
  name=$(uname -n)
  echo "${name%%.*}"
}

# Facts about the target node read from /cluster/resources (see _facts_program).
declare -gA FACTS=()

# Storage plugin types whose alloc_image creates a new volume, which `qm create <storage>:0,
# import-from=` needs (pve-storage 9.1.7: Plugin.pm for dir, nfs, cifs, glusterfs; BTRFSPlugin.pm
# l.321, LVMPlugin.pm l.763, LvmThinPlugin.pm l.99, ZFSPoolPlugin.pm l.264, ZFSPlugin.pm l.357,
# RBDPlugin.pm l.704). An automatic pick takes only these.
readonly ALLOC_STORAGE_TYPES="dir lvmthin lvm zfspool zfs rbd nfs cifs glusterfs btrfs"
# Types that list `images` but only use existing LUNs: alloc_image dies "can't allocate space in
# iscsi storage" (ISCSIPlugin.pm l.402-406, ISCSIDirectPlugin.pm l.142-146). A given --storage of
# another type (a third-party plugin) is tried.
readonly NO_ALLOC_STORAGE_TYPES="iscsi iscsidirect"

# What a provision runs on the host besides perl and a downloader (doctor's tools.host lists them).
readonly HOST_TOOLS="qm pvesh pvesm pveversion flock setsid sha256sum sha512sum base64"

check_tools() {
  local tool
  for tool in $HOST_TOOLS perl; do
    command -v "$tool" >/dev/null 2>&1 || die MISSING_DEPENDENCY "'$tool' is not installed or not on PATH"
  done
  # Image downloads use curl, else wget (a pve-manager dependency, unlike curl).
  command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 ||
    die MISSING_DEPENDENCY "neither 'curl' nor 'wget' is installed or on PATH: install one ('apt-get install wget')"
}

# Asked only when a Perl program failed: loading the modules costs each run about 25 ms.
check_perl_modules() {
  perl -MJSON::PP -MPOSIX -e 1 2>/dev/null ||
    die MISSING_DEPENDENCY "perl core modules JSON::PP and POSIX are missing"
}

# Major.minor, once check_pve_version has read it.
PVE_VERSION=""
check_pve_version() {
  pve pveversion || pve_fail UNSUPPORTED_PVE "pveversion failed"
  [[ "$PVE_OUT" =~ ^pve-manager/([0-9]+)\.([0-9]+)(\.[0-9]+)?/ ]] ||
    die UNSUPPORTED_PVE "cannot read the Proxmox VE version from: ${PVE_OUT%%$'\n'*}"
  PVE_VERSION=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
  case "${BASH_REMATCH[1]}" in
    8 | 9) log "Proxmox VE $PVE_VERSION" ;;
    *) die UNSUPPORTED_PVE "Proxmox VE $PVE_VERSION is not supported" ;;
  esac
}

# Reads /cluster/resources JSON on stdin and prints key=value facts for the request:
# node (chosen: the given one, the only one, or the local one), local_node (this host, when it is
# a node of the cluster), node_status, node_mem_used/node_mem_total,
# storage (given, or local-lvm, or the images storage of an <alloc types> type with most room),
# storage_listed, storage_status, storage_content, storage_type (plugintype),
# storage_used/storage_total, snippets (a storage with snippets content,
# the chosen one first), name_vmid/name_node (a VM or CT already using the name).
# free_ids (the first <tries> VM IDs no guest uses, see pick_vm_ids). Mode `first`: when
# VMs too new to be named are listed, only fill=<node> lines (the nodes whose VM lists complete
# them); mode `merged` takes those lists as <node>=<file> arguments.
_facts_program() {
  _resources_perl
  cat <<'PERL'
my ($mode, $node, $storage, $name, $local, $alloc, $tries, @lists) = @ARGV;
my %allocates = map { $_ => 1 } split / /, $alloc;
my $res = read_resources();
if ($mode eq "first") {
  my @fill = unnamed_nodes($res);
  if (@fill) { print "fill=$_\n" for @fill; exit 0 }
} else {
  merge_lists($res, @lists);
}
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.,:+-]//g; $v };
my @nodes = grep { ($_->{type} // "") eq "node" } @$res;
if ($node eq "") {
  if (@nodes == 1) { $node = $nodes[0]{node} // "" }
  elsif (grep { ($_->{node} // "") eq $local } @nodes) { $node = $local }
}
my ($n) = grep { ($_->{node} // "") eq $node } @nodes;
print "node=", $clean->($node), "\n";
print "local_node=", ((grep { ($_->{node} // "") eq $local } @nodes) ? $clean->($local) : ""), "\n";
print "node_status=", ($n ? $clean->($n->{status} // "unknown") : "missing"), "\n";
print "node_mem_used=", ($n ? int($n->{mem} // 0) : 0), "\n";
print "node_mem_total=", ($n ? int($n->{maxmem} // 0) : 0), "\n";
my @st = sort { $a->{storage} cmp $b->{storage} }
  grep { ($_->{type} // "") eq "storage" && ($_->{node} // "") eq $node && defined $_->{storage} } @$res;
my $images = sub { my $s = shift; grep { $_ eq "images" } split /,/, ($s->{content} // "") };
my $room = sub { my $s = shift; ($s->{maxdisk} // 0) - ($s->{disk} // 0) };
if ($storage eq "") {
  my @ok = grep { $images->($_) && ($_->{status} // "") eq "available" && $allocates{$_->{plugintype} // ""} } @st;
  my ($lvm) = grep { $_->{storage} eq "local-lvm" } @ok;
  my ($big) = sort { $room->($b) <=> $room->($a) } @ok;
  $storage = $lvm ? "local-lvm" : $big ? $big->{storage} : "";
}
my ($s) = grep { $_->{storage} eq $storage } @st;
print "storage=", $clean->($storage), "\n";
print "storage_listed=", ($s ? 1 : 0), "\n";
print "storage_status=", ($s ? $clean->($s->{status} // "unknown") : ""), "\n";
print "storage_content=", ($s ? $clean->($s->{content}) : ""), "\n";
print "storage_type=", ($s ? $clean->($s->{plugintype}) : ""), "\n";
print "storage_used=", ($s ? int($s->{disk} // 0) : 0), "\n";
print "storage_total=", ($s ? int($s->{maxdisk} // 0) : 0), "\n";
my @snip = grep { ($_->{status} // "") eq "available" && grep { $_ eq "snippets" } split /,/, ($_->{content} // "") } @st;
my ($pref) = grep { $_->{storage} eq $storage } @snip;
my $snippets = $pref // $snip[0];
print "snippets=", ($snippets ? $clean->($snippets->{storage}) : ""), "\n";
print "snippets_all=", join(",", map { $clean->($_->{storage}) } @snip), "\n";
my ($vm) = sort { $a->{vmid} <=> $b->{vmid} }
  grep { ($_->{type} // "") =~ /^(qemu|lxc)$/ && ($_->{name} // "") eq $name } @$res;
print "name_vmid=", ($vm ? $clean->($vm->{vmid}) : ""), "\n";
print "name_node=", ($vm ? $clean->($vm->{node}) : ""), "\n";
print "free_ids=", join(" ", free_ids($res, $tries)), "\n";
PERL
}

# Node, storage, capacity and name checks from one /cluster/resources read (and the VM lists of
# nodes with VMs too new to be named there).
check_cluster() {
  local out key value resources read_at line
  local -a args nodes=()
  printf -v read_at '%(%s)T' -1
  pve pvesh get /cluster/resources --output-format json || pve_fail NODE_NOT_FOUND "cannot read /cluster/resources"
  resources=$PVE_OUT
  args=("${SPEC[node]:-}" "${SPEC[storage]:-}" "${SPEC[name]}" "$(local_node_name)" "$ALLOC_STORAGE_TYPES" "$CLAIM_TRIES")
  out=$(perl -e "$(_facts_program)" first "${args[@]}" <<<"$resources") || _resources_unreadable
  if [[ "$out" == fill=* ]]; then
    while read -r line; do nodes+=("${line#fill=}"); done <<<"$out"
    read_node_lists "${nodes[@]}"
    out=$(perl -e "$(_facts_program)" merged "${args[@]}" "${NODE_LISTS[@]}" <<<"$resources") || _resources_unreadable
  fi
  FACTS=()
  while IFS='=' read -r key value; do
    FACTS[$key]=$value
  done <<<"$out"
  read -r -a FREE_IDS <<<"${FACTS[free_ids]}"
  ((${#FREE_IDS[@]})) || die CREATE_FAILED "no free VM ID from 100 to 999999 on the cluster"
  # shellcheck disable=SC2034 # read by create_vm (create.sh)
  IDS_SEEN=$read_at

  [[ -n "${FACTS[node]}" ]] || die NODE_NOT_FOUND "several nodes in the cluster and none is this host: pass --node"
  [[ "${FACTS[node_status]}" != missing ]] || die NODE_NOT_FOUND "node '${FACTS[node]}' is not in the cluster"
  [[ "${FACTS[node_status]}" == online ]] || die NODE_OFFLINE "node '${FACTS[node]}' is ${FACTS[node_status]}"
  SPEC[node]=${FACTS[node]}
  # qm creates a VM on the node it runs on, whatever --node says.
  [[ -z "${FACTS[local_node]}" || "${FACTS[local_node]}" == "${SPEC[node]}" ]] ||
    die_other_node "${SPEC[node]}" "this host is node '${FACTS[local_node]}', not '${SPEC[node]}': qm creates VMs only on the node it runs on"

  [[ -z "${FACTS[name_vmid]}" ]] ||
    die NAME_CONFLICT "a VM named '${SPEC[name]}' already exists: VMID ${FACTS[name_vmid]} on node ${FACTS[name_node]}"

  [[ -n "${FACTS[storage]}" ]] ||
    die STORAGE_NOT_FOUND "no available storage on node '${SPEC[node]}' can hold new VM disks ('images' content, type ${ALLOC_STORAGE_TYPES// /, }): pass --storage"
  SPEC[storage]=${FACTS[storage]}
  ((FACTS[storage_listed])) || _explain_missing_storage
  [[ "${FACTS[storage_status]}" == available ]] ||
    die STORAGE_NOT_FOUND "storage '${SPEC[storage]}' is not available on node '${SPEC[node]}' (status ${FACTS[storage_status]})"
  [[ ",${FACTS[storage_content]}," == *,images,* ]] ||
    die STORAGE_NOT_FOUND "storage '${SPEC[storage]}' does not hold VM images (content: ${FACTS[storage_content]})"
  [[ -z "${FACTS[storage_type]}" || " $NO_ALLOC_STORAGE_TYPES " != *" ${FACTS[storage_type]} "* ]] ||
    die STORAGE_NOT_FOUND "storage '${SPEC[storage]}' is of type ${FACTS[storage_type]}: Proxmox cannot create new VM disks there (it only uses existing LUNs); pass --storage with a storage of type ${ALLOC_STORAGE_TYPES// /, }"
  local disk_gib=${SPEC[disk]} memory_mib=${SPEC[memory]}
  local storage_free=$((FACTS[storage_total] - FACTS[storage_used])) mem_free=$((FACTS[node_mem_total] - FACTS[node_mem_used]))
  ((storage_free >= disk_gib * 1024 * 1024 * 1024)) ||
    die INSUFFICIENT_STORAGE "storage '${SPEC[storage]}' has $((storage_free / 1024 / 1024 / 1024)) GiB free, ${SPEC[disk]} GiB asked"
  # A node that reports no memory total is not checked.
  if ((FACTS[node_mem_total] > 0 && mem_free < memory_mib * 1024 * 1024)); then
    die INSUFFICIENT_MEMORY "node '${SPEC[node]}' has $((mem_free / 1024 / 1024)) MiB free, ${SPEC[memory]} MiB asked"
  fi
  # Skipped when the driver's placement already checked every VM of the run together.
  if [[ "${SPEC[capacity]}" != placed ]]; then
    local what="VM '${SPEC[name]}' on node ${SPEC[node]}" force=0
    [[ "${SPEC[capacity]}" == force ]] && force=1
    capacity_verdict "$what" "$(capacity_percent $((FACTS[node_mem_used] + memory_mib * 1024 * 1024)) "${FACTS[node_mem_total]}")" \
      "memory of node '${SPEC[node]}'" "$force" INSUFFICIENT_MEMORY
    capacity_verdict "$what" "$(capacity_percent $((FACTS[storage_used] + disk_gib * 1024 ** 3)) "${FACTS[storage_total]}")" \
      "storage '${SPEC[storage]}'" "$force" INSUFFICIENT_STORAGE
  fi
  log "node ${SPEC[node]}, storage ${SPEC[storage]}${FACTS[snippets]:+, snippets on ${FACTS[snippets]}}"
}

# Step 1 of a VM's job from what its run's placement read on this node moments before
# (--placed-facts, made by placed_facts below; the driver passes them only when the placement
# also checked the run's names): the version, the storage's type and snippets storages, the bridge
# and free VM IDs, instead of reading pveversion, /cluster/resources and the node's bridges again
# in every job of a --count run. The placement checked the node, storage, bridge and capacity.
take_placed_facts() {
  local pair
  local -a pairs=()
  FACTS=()
  IFS=';' read -ra pairs <<<"${SPEC[placed_facts]}"
  for pair in "${pairs[@]}"; do FACTS[${pair%%=*}]=${pair#*=}; done
  [[ "${FACTS[node]}" == "${SPEC[node]:-}" && "${FACTS[storage]}" == "${SPEC[storage]:-}" ]] ||
    die INVALID_SPEC "--placed-facts are for storage '${FACTS[storage]}' on node '${FACTS[node]}', not '${SPEC[storage]:-}' on '${SPEC[node]:-}'"
  [[ "$(local_node_name)" == "${SPEC[node]}" ]] ||
    die INVALID_SPEC "--placed-facts are for the node the placement ran on, and this host is not node '${SPEC[node]}'"
  FACTS[local_node]=${SPEC[node]}
  IFS=, read -ra FREE_IDS <<<"${FACTS[free_ids]}"
  # shellcheck disable=SC2034 # read by create_vm (create.sh)
  IDS_SEEN=${FACTS[seen]}
  log "Proxmox VE ${FACTS[pve]}; node ${SPEC[node]}, storage ${SPEC[storage]}${FACTS[snippets]:+, snippets on ${FACTS[snippets]}}; bridge ${SPEC[bridge]}: ${FACTS[bridge_type]}${FACTS[bridge_cidr]:+, this node at ${FACTS[bridge_cidr]}} (as this run's placement read them)"
}

# The facts a job on <node> (this node) takes from a placement, for VMs on <storage> and <bridge>
# (of type <bridge type>, this node at <bridge cidr> there), with <tries> free VM IDs. Needs
# RESOURCES_JSON, its read time in RESOURCES_READ_AT and PVE_VERSION.
placed_facts() { # <node> <storage> <bridge type> <bridge cidr> <tries>
  local out key value
  local -A f=()
  out=$(perl -e "$(_facts_program)" merged "$1" "$2" "" "$1" "$ALLOC_STORAGE_TYPES" "$5" <<<"$RESOURCES_JSON") || _resources_unreadable
  while IFS='=' read -r key value; do f[$key]=$value; done <<<"$out"
  printf 'node=%s;storage=%s;pve=%s;storage_type=%s;snippets=%s;snippets_all=%s;bridge_type=%s;bridge_cidr=%s;free_ids=%s;seen=%s' \
    "$1" "$2" "$PVE_VERSION" "${f[storage_type]}" "${f[snippets]}" "${f[snippets_all]}" "$3" "$4" "${f[free_ids]// /,}" "$RESOURCES_READ_AT"
}

# /cluster/resources takes a VM's name, status and sizes from pvestatd's RRD broadcast (every
# 10 s): a VM created moments ago is listed with none of them (pve-manager API2Tools.pm
# extract_vm_stats). One read per node with such VMs of its VM list (vmstatus, from the configs)
# fills them in; a node that cannot be read leaves its VMs as they are. Rewrites the JSON in <var>.
resources_fill_new() { # <var>
  local -n _res_json=$1
  local out
  local -a nodes=()
  out=$(perl -e "$(_resources_fill_program)" nodes <<<"$_res_json") || _resources_unreadable
  [[ -n "$out" ]] || return 0
  mapfile -t nodes <<<"$out"
  read_node_lists "${nodes[@]}"
  ((${#NODE_LISTS[@]})) || return 0
  _res_json=$(perl -e "$(_resources_fill_program)" merge "${NODE_LISTS[@]}" <<<"$_res_json") ||
    die INTERNAL "cannot merge the VM lists into /cluster/resources"
}

# The VM list of each node named, as <node>=<file> in NODE_LISTS; a node that cannot be read is
# left out (logged).
NODE_LISTS=()
read_node_lists() { # <node...>
  local node
  NODE_LISTS=()
  for node in "$@"; do
    [[ "$node" =~ $NODE_RE ]] || continue
    if pve pvesh get "/nodes/$node/qemu" --output-format json; then
      printf '%s\n' "$PVE_OUT" >"$WORK_DIR/qemu-$node.json"
      NODE_LISTS+=("$node=$WORK_DIR/qemu-$node.json")
    else
      log "cannot read the VM list of node '$node': $(pve_message)"
    fi
  done
}

_resources_unreadable() {
  check_perl_modules
  die INTERNAL "cannot parse /cluster/resources"
}

# `nodes`: the nodes of qemu entries without a name. `merge <node>=<file>...`: the JSON with those
# entries completed from the nodes' VM lists (name, status, template, cores, memory, disk, uptime).
_resources_fill_program() {
  _resources_perl
  cat <<'PERL'
my ($mode, @lists) = @ARGV;
my $res = read_resources();
if ($mode eq "nodes") { print "$_\n" for unnamed_nodes($res); exit 0 }
merge_lists($res, @lists);
print json_new()->canonical->encode($res), "\n";
PERL
}

# Perl subs for the programs that read /cluster/resources JSON on stdin: one interpreter per
# question instead of one per step.
_resources_perl() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
sub read_resources {
  my $res = eval { decode_json(do { local $/; <STDIN> }) };
  die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
  return $res;
}
sub unnamed { my ($res) = @_; grep { ref $_ eq "HASH" && ($_->{type} // "") eq "qemu" && ($_->{name} // "") eq "" && defined $_->{node} } @$res }
sub unnamed_nodes { my %n = map { $_->{node} => 1 } unnamed($_[0]); sort keys %n }
# Completes the unnamed entries from <node>=<file> VM lists (name, status, template, cores,
# memory, disk, uptime).
sub merge_lists {
  my ($res, @lists) = @_;
  my %vm;
  for my $arg (@lists) {
    my ($node, $file) = split /=/, $arg, 2;
    open(my $f, "<", $file) or die "$file: $!\n";
    my $list = eval { decode_json(do { local $/; <$f> }) };
    next unless ref $list eq "ARRAY";
    $vm{$node}{$_->{vmid}} = $_ for grep { ref $_ eq "HASH" && defined $_->{vmid} } @$list;
  }
  for my $e (unnamed($res)) {
    my $d = $vm{$e->{node}}{$e->{vmid}} or next;
    $e->{$_} = $d->{$_} for grep { defined $d->{$_} } qw(name status uptime maxmem maxdisk);
    $e->{maxcpu} = $d->{cpus} if defined $d->{cpus};
    $e->{template} = $d->{template} ? 1 : 0;
  }
}
# The first <want> IDs from 100 up that no VM or CT uses.
sub free_ids {
  my ($res, $want) = @_;
  my %used = map { ($_->{vmid} // "") => 1 } grep { ref $_ eq "HASH" && ($_->{type} // "") =~ /^(qemu|lxc)$/ } @$res;
  my @free;
  for (my $id = 100; $id < 1000000 && @free < $want; $id++) { push @free, $id unless $used{$id} }
  return @free;
}
PERL
}

# Only for a storage missing from the node's list: one more read tells "no such storage" from
# "disabled or not on this node".
_explain_missing_storage() {
  local storage=${SPEC[storage]}
  if ! pve pvesh get "/storage/$storage" --output-format json; then
    [[ "$PVE_ERR" == *"does not exist"* ]] && die STORAGE_NOT_FOUND "storage '$storage' does not exist"
    pve_fail STORAGE_NOT_FOUND "cannot read storage '$storage'"
  fi
  die STORAGE_NOT_FOUND "storage '$storage' is disabled or not available on node '${SPEC[node]}'"
}

# Linux bridges, OVS bridges and SDN VNets a guest NIC can use on <node>, from one read of its
# network list (`--type any_bridge`; the single-interface read covers /etc/network/interfaces only
# and misses VNets, pve-manager PVE/API2/Network.pm l.427-453). Sets BRIDGE_TYPE (bridge,
# OVSBridge or vnet) and BRIDGE_CIDR (the node's own address/prefix there, or empty). Returns 1
# when <node> has no such bridge, 2 when its list cannot be read (PVE_ERR tells why).
BRIDGE_TYPE=""
BRIDGE_CIDR=""
find_bridge() { # <node> <bridge>
  local out
  BRIDGE_TYPE="" BRIDGE_CIDR=""
  pve pvesh get "/nodes/$1/network" --type any_bridge --output-format json || return 2
  out=$(perl -e "$PERL_JSON"'my $l = eval { decode_json(do { local $/; <STDIN> }) }; exit 1 unless ref $l eq "ARRAY";
    my ($b) = grep { ref $_ eq "HASH" && ($_->{iface} // "") eq $ARGV[0] } @$l; exit 0 unless $b;
    my $cidr = $b->{cidr} // ""; $cidr = "" unless $cidr =~ m{^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$};
    print $b->{type} // "", " $cidr\n"' "$2" <<<"$PVE_OUT") ||
    die INTERNAL "cannot parse the bridges of node '$1'"
  [[ -n "$out" ]] || return 1
  read -r BRIDGE_TYPE BRIDGE_CIDR <<<"$out"
  [[ "$BRIDGE_TYPE" =~ ^(bridge|OVSBridge|vnet)$ ]] ||
    die BRIDGE_NOT_FOUND "interface '$2' on node '$1' is not a bridge (type '$BRIDGE_TYPE')"
}

# Leaves FACTS[bridge_type] and FACTS[bridge_cidr] (see find_bridge) for the address discovery.
check_bridge() {
  local rc=0
  find_bridge "${SPEC[node]}" "${SPEC[bridge]}" || rc=$?
  ((rc != 1)) || die BRIDGE_NOT_FOUND "bridge '${SPEC[bridge]}' does not exist on node '${SPEC[node]}'"
  ((rc != 2)) || pve_fail BRIDGE_NOT_FOUND "cannot read the bridges of node '${SPEC[node]}'"
  FACTS[bridge_type]=$BRIDGE_TYPE FACTS[bridge_cidr]=$BRIDGE_CIDR
  log "bridge ${SPEC[bridge]}: $BRIDGE_TYPE${BRIDGE_CIDR:+, this node at $BRIDGE_CIDR}"
}

