# Plug for the simulated Proxmox VE host (src/sim, built to dist/src/sim): `sim_host CMD` runs CMD
# on it with the simulated qm/pvesh/pvesm/pveversion first on PATH.

SIM_MAIN="$REPO_ROOT/dist/src/sim/tools/main.js"

# Skips when the simulator is not built, unless CI is set (then a missing simulator fails).
require_sim() {
  [[ -f "$SIM_MAIN" ]] && return 0
  [[ -z "${CI:-}" ]] || fail "CI is set but the simulator is not built ($SIM_MAIN missing): run npm run build"
  skip "simulator not built ($SIM_MAIN missing): run npm run build"
}

# Lays out a fresh simulated host under $BATS_TEST_TMPDIR/sim (layoutSimHost from dist/src/sim/host.js).
sim_setup() { # [settings JSON]
  SIM_ROOT="$BATS_TEST_TMPDIR/sim"
  node --input-type=module -e '
    const { layoutSimHost } = await import(process.argv[1]);
    layoutSimHost(process.argv[2], JSON.parse(process.argv[3]));' \
    "$REPO_ROOT/dist/src/sim/host.js" "$SIM_ROOT" "${1:-{\}}"
  SIM_REMOTE="$SIM_ROOT/var/lib/linus"
  SIM_SHELL=$(node --input-type=module -e '
    const { simPaths } = await import(process.argv[1]);
    const p = simPaths(process.argv[2]);
    process.stdout.write(typeof p.hostShell === "function" ? p.hostShell("pve") : p.hostShell);' \
    "$REPO_ROOT/dist/src/sim/paths.js" "$SIM_ROOT")
}

sim_host() { # <command string>
  "$SIM_SHELL" -c "$1"
}
