# shellcheck shell=bash
# Steps 7-8: the VM's address (guest agent, else the host's neighbour table, both matched by net0's
# MAC) and an SSH banner on it, within one deadline (--timeout).

VM_IP=""
DEADLINE=0

# Picks the IPv4 of the interface whose MAC is net0's from `qm guest cmd <id>
# network-get-interfaces` JSON on stdin (or the pvesh {"result": [...]} form). Never lo,
# 127.0.0.1, link-local 169.254/16, or container/bridge/tunnel interfaces that may copy the MAC.
agent_ip() { # <mac>
  perl -MJSON::PP -e '
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

# The IPv4 for a MAC in a neighbour table in /proc/net/arp format (complete entries only).
neigh_ip() { # <mac>
  local table=${LINUS_NEIGH_TABLE:-/proc/net/arp} ip flags hw _
  [[ -r "$table" ]] || return 1
  while read -r ip _ flags hw _; do
    [[ "${hw,,}" == "${1,,}" && "$flags" != 0x0 && "$ip" =~ $IPV4_RE && "$ip" != 169.254.* ]] || continue
    echo "$ip"
    return 0
  done <"$table"
  return 1
}

# One deadline for the address and SSH steps together.
start_deadline() {
  local timeout=${SPEC[timeout]}
  DEADLINE=$((SECONDS + timeout))
}

_remaining() {
  echo $((DEADLINE - SECONDS))
}

# Sets VM_IP. A static --ip is known; otherwise poll the agent with backoff (1, 2, 3, 4, 5, 5 ... s)
# and look in the neighbour table each round.
wait_for_ip() { # <vmid> <mac>
  local vmid=$1 mac=$2 delay=1 ip left
  if [[ "${SPEC[ip]}" != dhcp ]]; then
    VM_IP=${SPEC[ip]%/*}
    log "static address $VM_IP"
    return 0
  fi
  while :; do
    if pve qm guest cmd "$vmid" network-get-interfaces; then
      if ip=$(agent_ip "$mac" <<<"$PVE_OUT"); then
        VM_IP=$ip
        log "address $ip from the guest agent"
        return 0
      fi
    elif [[ "$PVE_ERR" == *"VM $vmid is not running"* ]]; then
      die START_FAILED "VM $vmid stopped while waiting for its address"
    fi
    if ip=$(neigh_ip "$mac"); then
      VM_IP=$ip
      log "address $ip from the neighbour table"
      return 0
    fi
    left=$(_remaining)
    ((left > 0)) || die IP_TIMEOUT "no IPv4 address for VM $vmid (MAC $mac) within ${SPEC[timeout]} s"
    nap $((delay < left ? delay : left))
    ((delay < 5)) && delay=$((delay + 1))
  done
}

# Whether host:port answers with an SSH banner line (no credentials are sent).
ssh_banner() { # <host> <port>
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => 3) or exit 1;
    local $SIG{ALRM} = sub { exit 1 };
    alarm 5;
    my $line = <$s>;
    exit(defined $line && $line =~ /^SSH-/ ? 0 : 1);' "$1" "$2"
}

wait_for_ssh() {
  # LINUS_SSH_PORT lets a simulated guest listen elsewhere than 22.
  local port=${LINUS_SSH_PORT:-22} left
  _int_in "$port" 1 65535 || die INVALID_SPEC "LINUS_SSH_PORT must be a TCP port"
  while ! bg_run ssh_banner "$VM_IP" "$port"; do
    left=$(_remaining)
    ((left > 0)) || die SSH_TIMEOUT "no SSH banner from $VM_IP:$port within ${SPEC[timeout]} s"
    nap $((left < 2 ? left : 2))
  done
  log "SSH answers on $VM_IP:$port"
}
