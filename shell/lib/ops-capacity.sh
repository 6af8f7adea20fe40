# shellcheck shell=bash
# vm list, capacity and placement: all from one /cluster/resources read. New VMs are checked
# against the thresholds of capacity.sh.

# Every program below reads the /cluster/resources JSON on stdin.
_capacity_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my ($mode, @args) = @ARGV;
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my @all = grep { ref $_ eq "HASH" } @$res;
my @nodes = sort { $a->{node} cmp $b->{node} } grep { ($_->{type} // "") eq "node" && defined $_->{node} } @all;
my @stor = sort { $a->{node} cmp $b->{node} || $a->{storage} cmp $b->{storage} }
  grep { ($_->{type} // "") eq "storage" && defined $_->{storage} && defined $_->{node} } @all;
my @vms = sort { $a->{vmid} <=> $b->{vmid} } grep { ($_->{type} // "") eq "qemu" && defined $_->{vmid} } @all;
my $J = json_new()->canonical;
my $pct = sub { my ($used, $total) = @_; $total ? int(1000 * $used / $total + 0.5) / 10 : 0 };
my $n = sub { 0 + ($_[0] // 0) };
my $images = sub { grep { $_ eq "images" } split /,/, ($_[0]{content} // "") };
my ($storage_of) = sub { my ($node, $id) = @_; (grep { $_->{node} eq $node && $_->{storage} eq $id } @stor)[0] };

# list, running and capacity take <node> first: only that node's VMs (and storages), or all ("").
if ($mode eq "list") {
  # <node> ("" for all), then <configs dir> (or ""): <dir>/<vmid>.json holds a VM's
  # `pvesh get .../config` answer, of which the keys a fleet plan reads are shown ($KEYS_RE,
  # ops-fleet.sh).
  my ($only, $configs, @pairs) = @args;
  my $keys = qr/$ENV{KEYS_RE}/;
  my %ip = map { split / /, $_, 2 } @pairs;
  for my $v (grep { $only eq "" || ($_->{node} // "") eq $only } @vms) {
    my @tags = grep { $_ ne "" } split /[;, ]+/, ($v->{tags} // "");
    my %o = (id => $n->($v->{vmid}), name => $v->{name} // "", node => $v->{node} // "", status => $v->{status} // "unknown",
      cores => $n->($v->{maxcpu}), memoryMiB => int($n->($v->{maxmem}) / 1048576), diskGiB => int(10 * $n->($v->{maxdisk}) / 1073741824 + 0.5) / 10,
      ip => $ip{$v->{vmid}}, linus => (grep { lc($_) eq "linus" } @tags) ? json_true() : json_false(),
      template => $v->{template} ? json_true() : json_false(), lock => $v->{lock}, tags => \@tags);
    my $file = "$configs/$v->{vmid}.json";
    if ($configs ne "" && -s $file) {
      my $c = eval { open(my $f, "<", $file) or die; decode_json(do { local $/; <$f> }) };
      $o{config} = { map { $_ => "$c->{$_}" } grep { $_ =~ $keys && defined $c->{$_} && !ref $c->{$_} } keys %$c } if ref $c eq "HASH";
    }
    print "LINUS_DATA:", $J->encode(\%o), "\n";
  }
} elsif ($mode eq "tagged") {
  # The VMs carrying tag <tag> (compared lowercase, as Proxmox keeps the case it was given).
  my ($tag) = @args;
  for my $v (@vms) {
    print "$v->{vmid} $v->{node}\n" if grep { lc($_) eq lc($tag) } split /[;, ]+/, ($v->{tags} // "");
  }
} elsif ($mode eq "running") {
  my ($only) = @args;
  print "$_->{vmid} $_->{node}\n" for grep { ($_->{status} // "") eq "running" && !$_->{template} && ($only eq "" || ($_->{node} // "") eq $only) } @vms;
} elsif ($mode eq "has-node") {
  my ($only) = @args;
  exit((grep { $_->{node} eq $only } @nodes) ? 0 : 1);
} elsif ($mode eq "capacity") {
  my ($only) = @args;
  @nodes = grep { $only eq "" || $_->{node} eq $only } @nodes;
  @stor = grep { $only eq "" || $_->{node} eq $only } @stor;
  for my $d (@nodes) {
    my @mine = grep { ($_->{node} // "") eq $d->{node} } @vms;
    my %o = (kind => "node", node => $d->{node}, status => $d->{status} // "unknown", cpus => $n->($d->{maxcpu}),
      cpuPercent => int(1000 * $n->($d->{cpu}) + 0.5) / 10, memoryBytes => $n->($d->{maxmem}), memoryUsedBytes => $n->($d->{mem}),
      memoryPercent => $pct->($n->($d->{mem}), $n->($d->{maxmem})), vms => scalar @mine,
      vmsRunning => scalar(grep { ($_->{status} // "") eq "running" } @mine));
    print "LINUS_DATA:", $J->encode(\%o), "\n";
  }
  for my $s (@stor) {
    my %o = (kind => "storage", node => $s->{node}, storage => $s->{storage}, type => $s->{plugintype} // "",
      status => $s->{status} // "unknown", shared => $s->{shared} ? json_true() : json_false(), content => $s->{content} // "",
      totalBytes => $n->($s->{maxdisk}), usedBytes => $n->($s->{disk}), usedPercent => $pct->($n->($s->{disk}), $n->($s->{maxdisk})));
    print "LINUS_DATA:", $J->encode(\%o), "\n";
  }
} elsif ($mode eq "candidates") {
  # Online nodes where the storage is available with images content.
  my ($storage) = @args;
  for my $d (@nodes) {
    next unless ($d->{status} // "") eq "online";
    my $s = $storage_of->($d->{node}, $storage);
    next unless $s && ($s->{status} // "") eq "available" && $images->($s);
    print "$d->{node}\n";
  }
} elsif ($mode eq "place") {
  # Spreads <count> VMs over <nodes> (most free memory first, counting the ones placed), then
  # checks each node's memory and each storage's space against the thresholds.
  my ($storage, $mem, $disk, $count, $warn, $refuse, @cand) = @args;
  my (%free, %smem, %sdisk, %stot, %mtot, %mused);
  for my $d (grep { my $x = $_; grep { $_ eq $x->{node} } @cand } @nodes) {
    $mtot{$d->{node}} = $n->($d->{maxmem});
    $mused{$d->{node}} = $n->($d->{mem});
    my $s = $storage_of->($d->{node}, $storage);
    my $key = $s->{shared} ? "shared" : $d->{node};
    $stot{$key} = $n->($s->{maxdisk});
    $sdisk{$key} //= $n->($s->{disk});
  }
  my @plan;
  for my $i (1 .. $count) {
    my ($best) = sort { ($mtot{$b} - $mused{$b}) <=> ($mtot{$a} - $mused{$a}) || $a cmp $b } keys %mtot;
    last unless defined $best;
    $mused{$best} += $mem;
    my $s = $storage_of->($best, $storage);
    my $key = $s->{shared} ? "shared" : $best;
    $sdisk{$key} += $disk;
    push @plan, $best;
    my $mp = $pct->($mused{$best}, $mtot{$best});
    my $sp = $pct->($sdisk{$key}, $stot{$key});
    print "place $i $best $mp $sp\n";
  }
} elsif ($mode eq "names") {
  # The names of a run, from <pattern> ({n} stands for the number) and <count>: "have <vmid>
  # <node> <type> <read 0|1> <status>" for each VM or CT with a name the run asks for (reuse) or
  # matching the pattern (continuation), then "new <name>" for each name to create. reuse 0: {n}
  # continues after the highest number taken, and a taken name without {n} prints "conflict
  # <vmid> <node>". reuse 1: {n} is 1..count and a taken name is not created; read 1 marks the
  # VMs whose config (the recorded spec) to read: qemu, tagged linus.
  my ($pattern, $count, $reuse) = @args;
  my @parts = split /\{n\}/, $pattern, -1;
  my @guests = sort { $a->{vmid} <=> $b->{vmid} } grep { ($_->{type} // "") =~ /^(qemu|lxc)$/ && defined $_->{vmid} && defined $_->{name} } @all;
  my $linus = sub { (grep { lc($_) eq "linus" } split /[;, ]+/, ($_[0]{tags} // "")) ? 1 : 0 };
  my $have = sub { my $v = shift; my $read = $reuse && $v->{type} eq "qemu" && $linus->($v) ? 1 : 0;
    print "have $v->{vmid} ", ($v->{node} // ""), " $v->{type} $read ", ($v->{status} // "unknown"), "\n" };
  my @want;
  if (@parts == 1) {
    my @taken = grep { $_->{name} eq $pattern } @guests;
    if (@taken && !$reuse) { print "conflict $taken[0]{vmid} ", ($taken[0]{node} // ""), "\n"; exit 0 }
    $have->($_) for @taken;
    @want = @taken ? () : ($pattern);
  } else {
    my $re = "^" . quotemeta($parts[0]);
    $re .= ($_ == 1 ? "([1-9][0-9]{0,8})" : "\\g{1}") . quotemeta($parts[$_]) for 1 .. $#parts;
    my ($from, %taken) = (1);
    for my $v (grep { $_->{name} =~ /$re\z/ } @guests) {
      $v->{name} =~ /$re\z/;
      my $k = $1;
      next if $reuse && $k > $count;
      $have->($v);
      $taken{$k} = 1;
      $from = $k + 1 if !$reuse && $k >= $from;
    }
    @want = map { join($_, @parts) } grep { !($reuse && $taken{$_}) } $from .. $from + $count - 1;
  }
  print "new $_\n" for @want;
} elsif ($mode eq "existing") {
  # The VMs <id...> as list rows, with their type and the first line of the description their
  # config in <dir>/config-<vmid>.json holds (spec, null without one); <ip> is "vmid ip" pairs.
  my ($dir, $ips, @ids) = @args;
  my %ip = map { split / /, $_, 2 } grep { $_ ne "" } split /,/, $ips;
  my %want = map { $_ => 1 } @ids;
  my @rows;
  for my $v (sort { $a->{vmid} <=> $b->{vmid} } grep { ($_->{type} // "") =~ /^(qemu|lxc)$/ && defined $_->{vmid} && $want{$_->{vmid}} } @all) {
    my @tags = grep { $_ ne "" } split /[;, ]+/, ($v->{tags} // "");
    my $spec;
    if (open(my $f, "<", "$dir/config-$v->{vmid}.json")) {
      my $c = eval { decode_json(do { local $/; <$f> }) };
      ($spec) = split /\n/, $c->{description} // "" if ref $c eq "HASH" && defined $c->{description};
    }
    push @rows, { id => $n->($v->{vmid}), name => $v->{name} // "", node => $v->{node} // "", type => $v->{type}, status => $v->{status} // "unknown",
      cores => $n->($v->{maxcpu}), memoryMiB => int($n->($v->{maxmem}) / 1048576), diskGiB => int(10 * $n->($v->{maxdisk}) / 1073741824 + 0.5) / 10,
      ip => $ip{$v->{vmid}}, linus => (grep { lc($_) eq "linus" } @tags) ? json_true() : json_false(),
      template => $v->{template} ? json_true() : json_false(), lock => $v->{lock}, tags => \@tags, spec => $spec };
  }
  print $J->encode(\@rows), "\n";
} else { die "unknown mode $mode\n" }
PERL
}

_capacity() { # <mode> <arg...>
  perl -e "$(_capacity_program)" "$@" <<<"$RESOURCES_JSON"
}

# First IPv4 of a guest agent network-get-interfaces answer (stdin) on an interface that is not
# loopback or a container/bridge/tunnel device (list does not know the VM's MAC).
_first_agent_ip() {
  perl -e "$PERL_JSON"'
    my $d = eval { decode_json(do { local $/; <STDIN> }) } or exit 1;
    $d = $d->{result} if ref $d eq "HASH";
    exit 1 unless ref $d eq "ARRAY";
    for my $if (@$d) {
      my $name = $if->{name} // "";
      next if $name eq "lo" || $name =~ /^(docker|br-|br\d|virbr|veth|cni|flannel|cali|vxlan|lxcbr|lxdbr|podman|tun|tap|wg|kube)/;
      for my $a (@{ $if->{"ip-addresses"} // [] }) {
        my $ip = $a->{"ip-address"} // "";
        next unless ($a->{"ip-address-type"} // "") eq "ipv4" && $ip =~ /^(\d+)\.(\d+)\.\d+\.\d+$/;
        next if $ip eq "127.0.0.1" || $1 == 0 || ($1 == 169 && $2 == 254);
        print "$ip\n"; exit 0;
      }
    }
    exit 1;'
}

# In the background: VM <vmid>'s address into $WORK_DIR/agent-<vmid>/ip, if its agent answers.
_agent_ip() { # <vmid> <node>
  local WORK_DIR="$WORK_DIR/agent-$1"
  mkdir -p -- "$WORK_DIR"
  if pve pvesh get "/nodes/$2/qemu/$1/agent/network-get-interfaces" --output-format json; then
    _first_agent_ip <<<"$PVE_OUT" >"$WORK_DIR/ip" || true
  fi
  return 0
}

# --node of list and capacity: a node of the cluster (NODE_NOT_FOUND otherwise), or "" for all.
# Needs RESOURCES_JSON.
_only_node() {
  OPT[node]=${OPT[node]:-}
  [[ -n "${OPT[node]}" ]] || return 0
  need_match OPT node "$NODE_RE" "must be a node name"
  _capacity has-node "${OPT[node]}" || die NODE_NOT_FOUND "node '${OPT[node]}' is not in the cluster"
}

# In the background: VM <vmid>'s config into $WORK_DIR/configs/<vmid>.json (ops-fleet.sh).
_vm_config() { # <vmid> <node>
  _fleet_read_config "$WORK_DIR/configs" "$1" "$2" 0
}

# At most this many pvesh queries at once: each is a pvesh process (Perl start-up) on the node.
readonly AGENT_QUERIES_AT_ONCE=8

# Runs each "<function> <vmid> <node>" line in the background, at most AGENT_QUERIES_AT_ONCE at a
# time, and waits for them all.
_in_background() { # <line...>
  local line fn id node running=0
  local -a pids=()
  for line in "$@"; do
    read -r fn id node <<<"$line"
    [[ "$id" =~ $VMID_RE && "$node" =~ $NODE_RE ]] || continue
    if ((running >= AGENT_QUERIES_AT_ONCE)); then
      wait -n || true
      running=$((running - 1))
    fi
    "$fn" "$id" "$node" &
    pids+=("$!")
    running=$((running + 1))
  done
  for id in "${pids[@]}"; do wait "$id" || true; done
}

# Usage: list [--node NAME] [--configs TAG] [--remote-dir DIR]
# Description: every VM of the cluster (with --node: of that node), one LINUS_DATA line each; the address of running VMs comes
# from their guest agent; with --configs, the VMs carrying TAG also show their config (the keys
# fleet-state shows). The agents and configs are asked in parallel, at most AGENT_QUERIES_AT_ONCE
# at a time.
cmd_list() {
  local ip row what configs=""
  local -a ips=() rows=() queries=()
  ops_parse "node: configs: remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 0)) || die INVALID_SPEC "list takes no arguments"
  if [[ -n "${OPT[configs]:-}" ]]; then
    shown what "${OPT[configs]}"
    [[ "${OPT[configs]}" =~ $TAG_RE && ${#OPT[configs]} -le 64 ]] || die INVALID_SPEC "--configs: $what is not a valid tag (letters, digits, _ + . -)"
    configs="$WORK_DIR/configs"
    mkdir -p -- "$configs"
  fi
  ops_read_resources
  _only_node
  resources_fill_new RESOURCES_JSON
  mapfile -t rows < <(_capacity running "${OPT[node]}")
  for row in "${rows[@]}"; do queries+=("_agent_ip $row"); done
  if [[ -n "$configs" ]]; then
    mapfile -t rows < <(_capacity tagged "${OPT[configs]}")
    for row in "${rows[@]}"; do queries+=("_vm_config $row"); done
  fi
  _in_background "${queries[@]}"
  for ip in "$WORK_DIR"/agent-*/ip; do
    [[ -s "$ip" ]] || continue
    what=${ip%/ip}
    ips+=("${what##*agent-} $(<"$ip")")
  done
  emit RESULT SUCCESS
  KEYS_RE=$FLEET_CONFIG_KEYS_RE _capacity list "${OPT[node]}" "$configs" "${ips[@]}" || die INTERNAL "cannot parse /cluster/resources"
  end_line
  mark_final
}

# Usage: capacity [--node NAME] [--remote-dir DIR]
# Description: CPU, memory and storage use per node (with --node: that node), one LINUS_DATA line
# per node and storage.
cmd_capacity() {
  ops_parse "node: remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 0)) || die INVALID_SPEC "capacity takes no arguments"
  ops_read_resources
  _only_node
  emit RESULT SUCCESS
  _capacity capacity "${OPT[node]}" || die INTERNAL "cannot parse /cluster/resources"
  end_line
  mark_final
}

PLACED=()
# With `place --reachable`: the nodes linus can reach (space-separated, padded); auto placement
# only picks among them, since qm only creates VMs on the node it runs on.
PLACE_WITHIN=""

# Places <count> new VMs and checks the thresholds; fills PLACED (one node per VM). Needs
# RESOURCES_JSON. <node> is a node name or auto (online, storage, bridge, most free memory).
# The bridge's type and this node's address there ("<type> <cidr>") on each candidate node.
declare -gA PLACE_BRIDGES=()
capacity_place() { # <node|auto> <storage> <bridge> <memory MiB> <disk GiB> <count> <force 0|1>
  local node=$1 storage=$2 bridge=$3 mem=$(($4 * 1024 * 1024)) disk=$(($5 * 1024 ** 3)) count=$6 force=$7
  local -a cand=() ok=()
  local line i at mp sp what
  mapfile -t cand < <(_capacity candidates "$storage")
  if [[ "$node" == auto && -n "$PLACE_WITHIN" ]]; then
    for line in "${cand[@]}"; do
      [[ "$PLACE_WITHIN" == *" $line "* ]] && ok+=("$line")
    done
    cand=("${ok[@]}") ok=()
  fi
  if [[ "$node" != auto ]]; then
    [[ " ${cand[*]} " == *" $node "* ]] ||
      die STORAGE_NOT_FOUND "node '$node' is not online or has no available storage '$storage' with images content"
    cand=("$node")
  fi
  PLACE_BRIDGES=()
  for line in "${cand[@]}"; do
    if find_bridge "$line" "$bridge"; then
      ok+=("$line")
      PLACE_BRIDGES[$line]="$BRIDGE_TYPE $BRIDGE_CIDR"
    elif [[ "$node" != auto ]]; then
      die BRIDGE_NOT_FOUND "bridge '$bridge' does not exist on node '$line'"
    fi
  done
  ((${#ok[@]})) || die NODE_NOT_FOUND "no online node${PLACE_WITHIN:+ that linus can reach (this one, or one with --node-address)} has storage '$storage' (images) and bridge '$bridge'"
  PLACED=()
  while read -r _ i at mp sp; do
    PLACED+=("$at")
    what="VM $i of $count on node $at"
    ((count > 1)) || what="the new VM on node $at"
    capacity_verdict "$what" "$mp" "memory of node '$at'" "$force" INSUFFICIENT_MEMORY
    capacity_verdict "$what" "$sp" "storage '$storage'" "$force" INSUFFICIENT_STORAGE
  done < <(_capacity place "$storage" "$mem" "$disk" "$count" "$CAPACITY_WARN_PCT" "$CAPACITY_REFUSE_PCT" "${ok[@]}")
  ((${#PLACED[@]} == count)) || die INTERNAL "placement gave ${#PLACED[@]} nodes for $count VMs"
}

PLACE_NAMES=()
PLACE_EXISTING="[]"
# With `place --names`: the names to create into PLACE_NAMES, and the VMs that have the run's
# names (reuse) or match its pattern (continuation) into PLACE_EXISTING as a JSON list of rows;
# with reuse, a row of a linus VM has its recorded spec and, running, its agent's address. A
# taken name without {n} and without reuse is NAME_CONFLICT. Needs RESOURCES_JSON.
place_names() { # <pattern> <count> <reuse 0|1>
  local pattern=$1 count=$2 reuse=$3 line kind id node fetch status ip what
  local -a lines=() ids=() ips=() pids=()
  shown what "$pattern"
  [[ "${pattern//\{n\}/1}" =~ $VM_NAME_RE ]] || die INVALID_SPEC "--names must be a VM name, {n} standing for a number, got $what"
  ((count == 1)) || [[ "$pattern" == *"{n}"* ]] || die INVALID_SPEC "--names needs {n} with --count $count"
  resources_fill_new RESOURCES_JSON
  mapfile -t lines < <(_capacity names "$pattern" "$count" "$reuse") || die INTERNAL "cannot parse /cluster/resources"
  PLACE_NAMES=()
  for line in "${lines[@]}"; do
    read -r kind id node _ fetch status <<<"$line"
    case "$kind" in
      conflict) die NAME_CONFLICT "a VM named '$pattern' already exists: VMID $id on node $node" ;;
      new)
        shown what "$id"
        [[ "$id" =~ $VM_NAME_RE ]] || die INVALID_SPEC "the next name of the pattern, $what, is not a valid VM name"
        PLACE_NAMES+=("$id")
        ;;
      have)
        [[ "$id" =~ $VMID_RE && "$node" =~ $NODE_RE ]] || continue
        ids+=("$id")
        ((fetch)) || continue
        if pve pvesh get "/nodes/$node/qemu/$id/config" --output-format json; then
          printf '%s\n' "$PVE_OUT" >"$WORK_DIR/config-$id.json"
        else
          log "cannot read the config of VM $id: $(pve_message)"
        fi
        [[ "$status" != running ]] || {
          _agent_ip "$id" "$node" &
          pids+=("$!")
        }
        ;;
    esac
  done
  for id in "${pids[@]}"; do wait "$id" || true; done
  for ip in "$WORK_DIR"/agent-*/ip; do
    [[ -s "$ip" ]] || continue
    id=${ip%/ip}
    ips+=("${id##*agent-} $(<"$ip")")
  done
  PLACE_EXISTING=$(IFS=,; _capacity existing "$WORK_DIR" "${ips[*]}" "${ids[@]}") || die INTERNAL "cannot parse /cluster/resources"
}

# Usage: place [--node auto|NAME] [--storage S] [--bridge B] [--memory MIB] [--disk GIB] [--count N] [--force]
#              [--reachable N1,N2] [--names PATTERN [--reuse]] [--remote-dir DIR]
# Description: where new VMs go, checked against the capacity thresholds; changes nothing. With
# --reachable, auto picks only among this node and the nodes listed (those linus has an address
# for). The result names this node (`local`) so the driver knows which nodes it reaches directly.
# With --names (the run's --name, {n} standing for the number): the names to create (`names`, one
# node each) and the VMs that already have the run's names (`existing`, see place_names): without
# --reuse a {n} pattern continues after the highest number taken; with --reuse a taken name is
# not placed, so a rerun is not refused for capacity it does not need. When VMs go to this node:
# `facts`, what their jobs take instead of reading it again (host.sh take_placed_facts).
cmd_place() {
  ops_parse "node: storage: bridge: memory: disk: count: force reachable: names: reuse remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 0)) || die INVALID_SPEC "place takes no arguments"
  local what local_node item
  local_node=$(local_node_name)
  if [[ -n "${OPT[reachable]+x}" ]]; then
    PLACE_WITHIN=" $local_node "
    local -a reachable=()
    IFS=, read -ra reachable <<<"${OPT[reachable]}"
    for item in "${reachable[@]}"; do
      shown what "$item"
      [[ "$item" =~ $NODE_RE ]] || die INVALID_SPEC "--reachable must list node names, got $what"
      PLACE_WITHIN+="$item "
    done
  fi
  OPT[node]=${OPT[node]:-auto} OPT[storage]=${OPT[storage]:-local-lvm} OPT[bridge]=${OPT[bridge]:-vmbr0}
  need_match OPT node "$NODE_RE" "must be auto or a node name"
  need_match OPT storage "$STORAGE_RE" "$STORAGE_RULE"
  need_match OPT bridge "$BRIDGE_RE" "$BRIDGE_RULE"
  ops_int memory "$VM_MEMORY_MIN" "$VM_MEMORY_MAX" 2048
  ops_int disk 0 "$DISK_MAX" 20
  ops_int count "$COUNT_MIN" "$COUNT_MAX" 1
  ops_read_resources
  check_pve_version
  local count=${OPT[count]} here_type here_cidr
  local -a fields=()
  if [[ -n "${OPT[names]+x}" ]]; then
    place_names "${OPT[names]}" "$count" "${OPT[reuse]:-0}"
    count=${#PLACE_NAMES[@]}
    fields=("j:names=$(_json_list "${PLACE_NAMES[@]}")" "j:existing=$PLACE_EXISTING")
  fi
  PLACED=()
  ((count == 0)) ||
    capacity_place "${OPT[node]}" "${OPT[storage]}" "${OPT[bridge]}" "${OPT[memory]}" "${OPT[disk]}" "$count" "${OPT[force]:-0}"
  # What the jobs of the VMs placed on this node take instead of reading it again: sibling jobs
  # skip each other's IDs (claim_record), so each finds one among CLAIM_TRIES + count.
  if [[ " ${PLACED[*]} " == *" $local_node "* ]]; then
    read -r here_type here_cidr <<<"${PLACE_BRIDGES[$local_node]}"
    fields+=("s:facts=$(placed_facts "$local_node" "${OPT[storage]}" "$here_type" "$here_cidr" $((CLAIM_TRIES + count)))")
  fi
  emit_data "s:op=place" "j:nodes=$(_json_list "${PLACED[@]}")" "s:local=$local_node" "${fields[@]}" | ops_success
}
