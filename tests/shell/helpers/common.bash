# Shared setup for the provisioner's bats tests: bats-support/assert from node_modules, a fake
# Proxmox host made of executable fixtures (helpers/pve-stub on PATH as qm/pvesh/pvesm/pveversion,
# state under $PVE_STUB_STATE), a small verified qcow2 image, and an SSH banner listener.

REPO_ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
ENTRY="$REPO_ROOT/shell/provision/proxmox.sh"
load "$REPO_ROOT/node_modules/bats-support/load.bash"
load "$REPO_ROOT/node_modules/bats-assert/load.bash"

# A public key line and its base64 as the driver sends it.
TEST_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHHmC0yXLqrc6gYbG5oUeX3tkgdpjbk9Hmr2s8mVe3Ee test@linus'
TEST_KEY_B64=$(printf '%s\n' "$TEST_KEY" | base64 -w0)

# Lays out the fake host: node pve (online, 64 GiB), storages local (dir, with snippets: a host
# prepared for the guest-agent vendor-data) and local-lvm (images), bridge vmbr0 on which the node
# has 127.77.0.2/24, no VMs, an agent that reports eth0 plus decoys.
fake_host() {
  export PVE_STUB_STATE="$BATS_TEST_TMPDIR/pve"
  STUB_BIN="$BATS_TEST_TMPDIR/bin"
  mkdir -p "$PVE_STUB_STATE/storage" "$PVE_STUB_STATE/vms" "$PVE_STUB_STATE/race" "$STUB_BIN"
  local tool
  for tool in qm pvesh pvesm pveversion; do
    ln -sf "$REPO_ROOT/tests/shell/helpers/pve-stub" "$STUB_BIN/$tool"
  done
  export PATH="$STUB_BIN:$PATH"
  local gib=$((1024 ** 3))
  cat >"$PVE_STUB_STATE/resources.json" <<JSON
[{"id":"node/pve","node":"pve","type":"node","status":"online","maxmem":$((64 * gib)),"mem":$((8 * gib)),"maxcpu":16},
 {"id":"storage/pve/local","storage":"local","node":"pve","type":"storage","plugintype":"dir","status":"available","content":"iso,vztmpl,backup,snippets","disk":$((10 * gib)),"maxdisk":$((100 * gib)),"shared":0},
 {"id":"storage/pve/local-lvm","storage":"local-lvm","node":"pve","type":"storage","plugintype":"lvmthin","status":"available","content":"rootdir,images","disk":$((10 * gib)),"maxdisk":$((500 * gib)),"shared":0}]
JSON
  echo '{"content":"iso,vztmpl,backup,snippets","path":"/var/lib/vz","storage":"local","type":"dir"}' >"$PVE_STUB_STATE/storage/local.json"
  echo '{"content":"images,rootdir","storage":"local-lvm","thinpool":"data","type":"lvmthin","vgname":"pve"}' >"$PVE_STUB_STATE/storage/local-lvm.json"
  echo "vmbr0 bridge 127.77.0.2/24" >"$PVE_STUB_STATE/bridges"
  echo "eth0 eth" >>"$PVE_STUB_STATE/bridges"
  GUEST_IP=127.77.0.5
  agent_reports "$GUEST_IP"
  export LINUS_NEIGH_TABLE="$BATS_TEST_TMPDIR/arp"
  printf 'IP address       HW type     Flags       HW address            Mask     Device\n' >"$LINUS_NEIGH_TABLE"
  REMOTE="$BATS_TEST_TMPDIR/remote"
  test_image 2
}

# The agent's answer: lo, a docker0 decoy, then eth0 (net0's MAC) with link-local and real IPv4.
agent_reports() { # <ip>
  cat >"$PVE_STUB_STATE/agent.json" <<JSON
[
   { "hardware-address" : "00:00:00:00:00:00", "name" : "lo",
     "ip-addresses" : [ { "ip-address" : "127.0.0.1", "ip-address-type" : "ipv4", "prefix" : 8 } ] },
   { "hardware-address" : "02:42:ac:11:00:01", "name" : "docker0",
     "ip-addresses" : [ { "ip-address" : "172.17.0.1", "ip-address-type" : "ipv4", "prefix" : 16 } ] },
   { "hardware-address" : "@MAC@", "name" : "br-guest",
     "ip-addresses" : [ { "ip-address" : "10.9.9.9", "ip-address-type" : "ipv4", "prefix" : 24 } ] },
   { "hardware-address" : "@MAC@", "name" : "eth0",
     "ip-addresses" : [ { "ip-address" : "fe80::be24:11ff:fe00:1", "ip-address-type" : "ipv6", "prefix" : 64 },
                        { "ip-address" : "169.254.3.4", "ip-address-type" : "ipv4", "prefix" : 16 },
                        { "ip-address" : "$1", "ip-address-type" : "ipv4", "prefix" : 24 } ] }
]
JSON
}

# A qcow2 image of <GiB> virtual size holding <os> of the simulator's image catalog (default
# ubuntu-24.04: no guest agent), as the image server makes them (a bare qcow2 header when the
# simulator is not built: the Perl stub only reads its size); sets IMAGE_FILE, IMAGE_URL, IMAGE_SHA.
test_image() { # <GiB> [os]
  local os=${2:-ubuntu-24.04}
  IMAGE_FILE="$BATS_TEST_TMPDIR/img/test-$1-$os.qcow2"
  mkdir -p "${IMAGE_FILE%/*}"
  if [[ -f "$REPO_ROOT/dist/src/sim/guest-image.js" ]]; then
    node --input-type=module -e '
      const [gi, q, file, gib, os] = process.argv.slice(1);
      const { IMAGE_CATALOG, encodeGuestImage } = await import(gi);
      const { writeQcow2 } = await import(q);
      const entry = IMAGE_CATALOG.find((candidate) => candidate.os === os);
      if (!entry) throw new Error(`no ${os} in the image catalog`);
      writeQcow2(file, Number(gib) * 1024 ** 3, encodeGuestImage(entry.guest));' \
      "$REPO_ROOT/dist/src/sim/guest-image.js" "$REPO_ROOT/dist/src/sim/qcow2.js" "$IMAGE_FILE" "$1" "$os"
  else
    perl -e 'print "QFI\xfb", pack("N", 3), "\0" x 16, pack("Q>", $ARGV[0] * 1024 ** 3), "\0" x 480' "$1" >"$IMAGE_FILE"
  fi
  IMAGE_URL="file://$IMAGE_FILE"
  IMAGE_SHA=$(sha256sum "$IMAGE_FILE" | cut -d' ' -f1)
}

# A listener on <ip>:<port> that greets like sshd; sets SSH_PORT for the provisioner.
ssh_listener() { # <ip>
  SSH_PORT=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die; print $s->sockport')
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], LocalPort => $ARGV[1], Listen => 5, ReuseAddr => 1) or die "listen: $!";
    while (my $c = $s->accept) { print $c "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"; close $c }' "$1" "$SSH_PORT" 3>&- &
  SSH_LISTENER_PID=$!
  export LINUS_SSH_PORT=$SSH_PORT
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1]) or exit 1' "$1" "$SSH_PORT" && return 0
    sleep 0.1
  done
  return 1
}

stop_listener() {
  [[ -z "${SSH_LISTENER_PID:-}" ]] || kill "$SSH_LISTENER_PID" 2>/dev/null || true
}

# The options of a typical request against the fake host.
std_opts() {
  printf '%s\n' --remote-dir "$REMOTE" --name web01 --cores 2 --memory 2048 --disk 8 \
    --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 10
}

# Runs a function of the sourced provisioner in a fresh bash (die exits that bash, not the test).
lib_run() { # <bash code>
  run bash -c 'source "$1"; WORK_DIR=$(mktemp -d); set +e; eval "$2"' _ "$ENTRY" "$1"
}

# Count of Proxmox calls in an output (pve() logs each one).
call_count() { # <output>
  grep -c '^linus: call: ' <<<"$1" || true
}

# VMs of the fake host (ids).
fake_vms() {
  local f
  for f in "$PVE_STUB_STATE"/vms/*.conf; do
    [[ -e "$f" ]] || continue
    f=${f##*/}
    echo "${f%.conf}"
  done
}
