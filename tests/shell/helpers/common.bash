# Shared setup for the provisioner's bats tests: bats-support/assert from node_modules, a test key,
# a small verified qcow2 image, and a way to run one provisioner function. The Proxmox host they
# run against is the simulated one (helpers/sim.bash).

REPO_ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
ENTRY="$REPO_ROOT/shell/provision/proxmox.sh"
load "$REPO_ROOT/node_modules/bats-support/load.bash"
load "$REPO_ROOT/node_modules/bats-assert/load.bash"

# A public key line and its base64 as the driver sends it.
TEST_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHHmC0yXLqrc6gYbG5oUeX3tkgdpjbk9Hmr2s8mVe3Ee test@linus'
TEST_KEY_B64=$(printf '%s\n' "$TEST_KEY" | base64 -w0)

# A qcow2 image of <GiB> virtual size holding <os> of the simulator's image catalog (default
# ubuntu-24.04: no guest agent), as the image server makes them (a bare qcow2 header when the
# simulator is not built: enough for the tests that only read its size); sets IMAGE_FILE, IMAGE_URL,
# IMAGE_SHA. Each test gets its own copy of an image made once per bats run.
test_image() { # <GiB> [os]
  local os=${2:-ubuntu-24.04} made
  IMAGE_FILE="$BATS_TEST_TMPDIR/img/test-$1-$os.qcow2"
  made="$BATS_RUN_TMPDIR/images/${IMAGE_FILE##*/}"
  mkdir -p "${IMAGE_FILE%/*}" "${made%/*}"
  if [[ ! -f "$made" ]]; then
    _make_test_image "$1" "$os" "$made.$$"
    mv -f -- "$made.$$" "$made"
  fi
  cp -- "$made" "$IMAGE_FILE"
  IMAGE_URL="file://$IMAGE_FILE"
  IMAGE_SHA=$(sha256sum "$IMAGE_FILE" | cut -d' ' -f1)
}

_make_test_image() { # <GiB> <os> <file>
  if [[ -f "$REPO_ROOT/dist/src/sim/guest-image.js" ]]; then
    node --input-type=module -e '
      const [gi, q, file, gib, os] = process.argv.slice(1);
      const { IMAGE_CATALOG, encodeGuestImage } = await import(gi);
      const { writeQcow2 } = await import(q);
      const entry = IMAGE_CATALOG.find((candidate) => candidate.os === os);
      if (!entry) throw new Error(`no ${os} in the image catalog`);
      writeQcow2(file, Number(gib) * 1024 ** 3, encodeGuestImage(entry.guest));' \
      "$REPO_ROOT/dist/src/sim/guest-image.js" "$REPO_ROOT/dist/src/sim/qcow2.js" "$3" "$1" "$2"
  else
    perl -e 'print "QFI\xfb", pack("N", 3), "\0" x 16, pack("Q>", $ARGV[0] * 1024 ** 3), "\0" x 480' "$1" >"$3"
  fi
}

# Runs a function of the sourced provisioner in a fresh bash (die exits that bash, not the test).
lib_run() { # <bash code>
  run bash -c 'source "$1"; WORK_DIR=$(mktemp -d); set +e; eval "$2"' _ "$ENTRY" "$1"
}

# Count of Proxmox calls in an output (pve() logs each one).
call_count() { # <output>
  grep -c '^linus: call: ' <<<"$1" || true
}
