# shellcheck shell=bash
# The VM's address: how it will be found (decided in step 1, before anything is created), a static
# address checked free, then steps 7-8: the address and an SSH banner on it within one deadline
# (--timeout), and a check that whoever answers there has this VM's MAC.
#
# A DHCP guest's address comes from its guest agent when there is one (the image ships it, or
# vendor-data on a snippets storage installs it): the agent reports the NIC by MAC and is believed
# first. Without an agent the node's neighbour table is the only source, and a stock node learns
# a guest there only when it sends to the guest's address itself (reference §15.5): so linus
# sends one datagram to every address of the guest's network (the node must have an address in it)
# and then reads the table by MAC. With neither, a DHCP provision cannot work and is refused.

VM_IP=""
DEADLINE=0
# The guest agent will run in the guest (1) or not (0).
ADDR_AGENT=0
# The node's own address/prefix on the guest's network, if it has one: where a probe can reach.
PROBE_CIDR=""
# The network the guest is on, for messages: vmbr0 or vmbr0 VLAN 42.
GUEST_NET=""
# Where the address came from: static, agent, neighbour.
IP_SOURCE=""
readonly PROBE_MAX_ADDRESSES=4094
# With an agent expected, how long it alone is asked before a probe may help (the agent may come
# late: a package mirror, or --upgrade).
scaled_seconds AGENT_GRACE 20
readonly AGENT_GRACE
# How long SSH may stay silent at an address found by agent or probe before it is looked up again.
scaled_seconds RECHECK_AFTER 10
readonly RECHECK_AFTER

# Picks the IPv4 of the interface whose MAC is net0's from `qm guest cmd <id>
# network-get-interfaces` JSON on stdin (or the pvesh {"result": [...]} form). Never lo,
# 127.0.0.1, link-local 169.254/16, or container/bridge/tunnel interfaces that may copy the MAC.
agent_ip() { # <mac>
  perl -e "$PERL_JSON"'
    my $mac = lc shift;
    my $d = eval { decode_json(do { local $/; <STDIN> }) } or exit 1;
    $d = $d->{result} if ref $d eq "HASH";
    exit 1 unless ref $d eq "ARRAY";
    for my $if (@$d) {
      next unless ref $if eq "HASH" && lc($if->{"hardware-address"} // "") eq $mac;
      my $name = $if->{name} // "";
      next if $name eq "lo" || $name =~ /^(docker|br-|br\d|virbr|veth|cni|flannel|cali|vxlan|lxcbr|lxdbr|podman|tun|tap|wg|kube)/;
      for my $a (@{ $if->{"ip-addresses"} // [] }) {
        next unless ($a->{"ip-address-type"} // "") eq "ipv4";
        my $ip = $a->{"ip-address"} // "";
        next unless $ip =~ /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/;
        next if $ip eq "127.0.0.1" || $1 == 0 || ($1 == 169 && $2 == 254);
        print "$ip\n";
        exit 0;
      }
    }
    exit 1;' "$1"
}

# The IPv4 for a MAC in a neighbour table in /proc/net/arp format (complete entries only), other
# than <but> (an address that did not answer: the entry may be stale after a new lease).
neigh_ip() { # <mac> [but]
  local table=${LINUS_NEIGH_TABLE:-/proc/net/arp} ip flags hw _
  [[ -r "$table" ]] || return 1
  while read -r ip _ flags hw _; do
    [[ "${hw,,}" == "${1,,}" && "$flags" != 0x0 && "$ip" =~ $IPV4_RE && "$ip" != 169.254.* && "$ip" != "${2:-}" ]] || continue
    echo "$ip"
    return 0
  done <"$table"
  return 1
}

# The MAC (lowercase) the neighbour table has for an IPv4 (complete entries only).
neigh_mac() { # <ip>
  local table=${LINUS_NEIGH_TABLE:-/proc/net/arp} ip flags hw _
  [[ -r "$table" ]] || return 1
  while read -r ip _ flags hw _; do
    [[ "$ip" == "$1" && "$flags" != 0x0 && "$hw" =~ ^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$ && "$hw" != 00:00:00:00:00:00 ]] || continue
    echo "${hw,,}"
    return 0
  done <"$table"
  return 1
}

_ip_int() { # <var> <a.b.c.d>
  local -a o
  IFS=. read -ra o <<<"$2"
  printf -v "$1" '%d' $(((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]))
}

# Whether <ip> lies in <address/prefix>.
ip_in_cidr() { # <ip> <cidr>
  local bits=${2#*/} mask ip net
  ((bits >= 0 && bits <= 32)) || return 1
  mask=$(((0xffffffff << (32 - bits)) & 0xffffffff))
  _ip_int ip "$1"
  _ip_int net "${2%/*}"
  (((ip & mask) == (net & mask)))
}

# Sends a one-byte datagram to <port> of every address of <cidr> but its network, broadcast and
# own address (of a /32: to that one address): the kernel resolves each one, and whoever answers
# enters the neighbour table. Bash's /dev/udp sends from this process: no interpreter to start.
probe_network() { # <cidr>
  local port=${LINUS_PROBE_PORT:-9} bits=${1#*/} own first last n
  local -a o
  IFS=. read -ra o <<<"${1%/*}"
  own=$(((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]))
  if ((bits == 32)); then
    first=$own last=$own
  else
    first=$(((own & ~((1 << (32 - bits)) - 1) & 0xffffffff) + 1))
    last=$((first + (1 << (32 - bits)) - 3))
  fi
  for ((n = first; n <= last; n++)); do
    ((n != own || bits == 32)) || continue
    printf '\n' 2>/dev/null >"/dev/udp/$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))/$port" || true
  done
}

# Sets PROBE_CIDR to the node's address/prefix on VLAN <tag> of <bridge>: a `<bridge>.<tag>`
# interface, or a VLAN interface whose raw device is the bridge (one read of the node's VLAN
# interfaces); empty when it has none.
_vlan_cidr() { # <bridge> <tag>
  pve pvesh get "/nodes/${SPEC[node]}/network" --type vlan --output-format json || pve_fail BRIDGE_NOT_FOUND "cannot read the VLAN interfaces of node '${SPEC[node]}'"
  PROBE_CIDR=$(perl -e "$PERL_JSON"'
    my ($bridge, $tag) = @ARGV;
    my $list = eval { decode_json(do { local $/; <STDIN> }) };
    exit 0 unless ref $list eq "ARRAY";
    for my $if (@$list) {
      next unless ref $if eq "HASH" && ($if->{cidr} // "") =~ m{^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$};
      my $raw = $if->{"vlan-raw-device"} // "";
      my $id = $if->{"vlan-id"} // "";
      next unless ($if->{iface} // "") eq "$bridge.$tag" || ($raw eq $bridge && $id eq $tag);
      print $if->{cidr};
      exit 0;
    }' "$1" "$2" <<<"$PVE_OUT") || die INTERNAL "cannot parse the VLAN interfaces of node '${SPEC[node]}'"
}

# Step 1: decides how the address will be found, and refuses a DHCP provision no method can serve.
# Reads FACTS[snippets] (check_cluster) and FACTS[bridge_cidr] (check_bridge).
plan_address_discovery() {
  local bridge=${SPEC[bridge]} vlan=${SPEC[vlan]:-}
  GUEST_NET=$bridge${vlan:+ VLAN $vlan}
  choose_snippets_storage
  if [[ "${SPEC[image_agent]}" == 1 || -n "$SNIPPETS_STORAGE" ]]; then ADDR_AGENT=1; else ADDR_AGENT=0; fi
  PROBE_CIDR=""
  # Only a static address or a guest without an agent needs the node's address on a VLAN.
  if [[ -z "$vlan" ]]; then
    PROBE_CIDR=${FACTS[bridge_cidr]:-}
  elif [[ "${SPEC[ip]}" != dhcp ]] || ((!ADDR_AGENT)); then
    _vlan_cidr "$bridge" "$vlan"
  fi
  if [[ -n "$PROBE_CIDR" ]] && ((2 ** (32 - ${PROBE_CIDR#*/}) - 2 > PROBE_MAX_ADDRESSES)); then
    log "the node's network $PROBE_CIDR on $GUEST_NET is too large to probe (more than $PROBE_MAX_ADDRESSES addresses)"
    PROBE_CIDR=""
  fi
  if [[ "${SPEC[ip]}" != dhcp ]]; then
    IP_SOURCE=static
    log "address: static ${SPEC[ip]%/*}"
    return 0
  fi
  if ((ADDR_AGENT)); then
    local from="the guest agent the image ships"
    [[ "${SPEC[image_agent]}" == 1 ]] || from="the guest agent that vendor-data on $SNIPPETS_STORAGE installs"
    log "address: from $from${PROBE_CIDR:+ (a probe of $PROBE_CIDR if it is late)}"
    return 0
  fi
  if [[ -n "$PROBE_CIDR" ]]; then
    log "address: a probe of $PROBE_CIDR on $GUEST_NET, then the neighbour table by MAC (no storage holds snippets for the guest agent)"
    return 0
  fi
  local no_agent="the ${SPEC[os]} image has no guest agent and no storage on node ${SPEC[node]} holds snippets to install one"
  die IP_DISCOVERY_UNAVAILABLE "no way to learn the address of a DHCP guest on $GUEST_NET: ${SPEC[no_agent_why]:-$no_agent}, and the node has no address on $GUEST_NET to probe it from"
}

# Step 1 for a static --ip: nothing may answer there yet (§15.14). The node asks for it (when it
# is on that network) and knocks on its SSH port.
check_ip_free() {
  [[ "${SPEC[ip]}" != dhcp ]] || return 0
  local ip=${SPEC[ip]%/*} port=${LINUS_SSH_PORT:-22} mac on_net=0
  [[ "$ip" != "${PROBE_CIDR%/*}" ]] || die IP_IN_USE "$ip is node ${SPEC[node]}'s own address on $GUEST_NET"
  if [[ -n "$PROBE_CIDR" ]] && ip_in_cidr "$ip" "$PROBE_CIDR"; then
    on_net=1
    probe_network "$ip/32"
  fi
  if bg_run ssh_banner "$ip" "$port" 2; then
    die IP_IN_USE "$ip already answers SSH on port $port: another machine holds that address"
  fi
  if ((on_net)); then
    nap 1
    if mac=$(neigh_mac "$ip"); then
      die IP_IN_USE "$ip is already in use on $GUEST_NET by the machine with MAC $mac"
    fi
  fi
  if ((on_net)); then
    log "static address $ip is free: nothing on $GUEST_NET answered for it"
  else
    log "static address $ip: nothing answers SSH there (the node is not on its network)"
  fi
}

# One deadline for the address and SSH steps together.
start_deadline() {
  local timeout=${SPEC[timeout]}
  DEADLINE=$((SECONDS + timeout))
}

# One look for a DHCP guest's address: the agent (when one is expected), the neighbour table, and
# (when allowed) a probe first; the table's answer may not be <but>. Sets VM_IP and IP_SOURCE.
_lookup_ip() { # <vmid> <mac> <probe 0|1> [but]
  local vmid=$1 mac=$2 ip
  if ((ADDR_AGENT)); then
    if pve qm guest cmd "$vmid" network-get-interfaces; then
      if ip=$(agent_ip "$mac" <<<"$PVE_OUT"); then
        VM_IP=$ip IP_SOURCE=agent
        return 0
      fi
    elif [[ "$PVE_ERR" == *"VM $vmid is not running"* ]]; then
      die START_FAILED "VM $vmid stopped while waiting for its address"
    fi
  fi
  if (($3)) && [[ -n "$PROBE_CIDR" ]]; then
    probe_network "$PROBE_CIDR"
    nap 1
  fi
  if ip=$(neigh_ip "$mac" "${4:-}"); then
    VM_IP=$ip IP_SOURCE=neighbour
    return 0
  fi
  return 1
}

# Sets VM_IP. A static --ip is known; otherwise look with backoff (1, 2, 3, 4, 5, 5 ... s).
wait_for_ip() { # <vmid> <mac>
  local vmid=$1 mac=$2 delay=1 started=$SECONDS left probe
  if [[ "${SPEC[ip]}" != dhcp ]]; then
    VM_IP=${SPEC[ip]%/*}
    return 0
  fi
  while :; do
    probe=$((!ADDR_AGENT || SECONDS - started >= AGENT_GRACE))
    if _lookup_ip "$vmid" "$mac" "$probe"; then
      log "address $VM_IP from the $([[ $IP_SOURCE == agent ]] && echo guest agent || echo neighbour table)"
      return 0
    fi
    left=$((DEADLINE - SECONDS))
    ((left > 0)) || die IP_TIMEOUT "no IPv4 address for VM $vmid (MAC $mac) on $GUEST_NET within ${SPEC[timeout]} s"
    nap $((delay < left ? delay : left))
    ((delay < 5)) && delay=$((delay + 1))
  done
}

# Whether host:port answers with an SSH banner line within <seconds> (no credentials are sent).
# Bash's /dev/tcp connects; timeout bounds a connect that hangs (a dropped SYN).
ssh_banner() { # <host> <port> [seconds]
  local t=${3:-3}
  # shellcheck disable=SC2016 # the inner bash expands them
  timeout "$((t + 2))" bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t "$2" line <&3 && [[ "$line" == SSH-* ]]' "$1" "$2" "$t" 2>/dev/null
}

# The machine that answered at VM_IP must be this VM: where the node is on that network, its
# neighbour table names the MAC behind the address (the banner check just made it resolve it).
confirm_address_owner() { # <vmid> <mac>
  local mac
  if [[ -z "$PROBE_CIDR" ]] || ! ip_in_cidr "$VM_IP" "$PROBE_CIDR"; then
    log "the node is not on $VM_IP's network: which machine answers there cannot be checked"
    return 0
  fi
  if ! mac=$(neigh_mac "$VM_IP"); then
    probe_network "$VM_IP/32"
    nap 1
    mac=$(neigh_mac "$VM_IP") || { log "the neighbour table has no entry for $VM_IP: its owner cannot be checked" && return 0; }
  fi
  [[ "$mac" == "${2,,}" ]] ||
    die IP_IN_USE "$VM_IP answers SSH, but it belongs to MAC $mac, not to VM $1 ($2): another machine holds that address"
  log "$VM_IP belongs to VM $1 (MAC $mac)"
}

wait_for_ssh() { # <vmid> <mac>
  # LINUS_SSH_PORT lets a simulated guest listen elsewhere than 22.
  local port=${LINUS_SSH_PORT:-22} left since=$SECONDS old
  _int_in "$port" 1 65535 || die INVALID_SPEC "LINUS_SSH_PORT must be a TCP port"
  while ! bg_run ssh_banner "$VM_IP" "$port"; do
    left=$((DEADLINE - SECONDS))
    ((left > 0)) || die SSH_TIMEOUT "no SSH banner from $VM_IP:$port within ${SPEC[timeout]} s"
    # An address found by agent or probe may have changed (a new lease): look again.
    if [[ "$IP_SOURCE" != static ]] && ((SECONDS - since >= RECHECK_AFTER)); then
      since=$SECONDS old=$VM_IP
      if _lookup_ip "$1" "$2" 1 "$old" && [[ "$VM_IP" != "$old" ]]; then
        log "VM $1 is now at $VM_IP (was $old)"
        continue
      fi
      VM_IP=$old
    fi
    nap $((left < 2 ? left : 2))
  done
  log "SSH answers on $VM_IP:$port"
  confirm_address_owner "$1" "$2"
}
