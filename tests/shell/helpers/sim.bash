# Plug for the simulated Proxmox VE host (src/sim, built to dist/src/sim): `sim_host CMD` runs CMD
# on it with the simulated qm/pvesh/pvesm/pveversion first on PATH, and the helpers below read the
# host's state (configs, volume records, lock files, guests, the call log) straight from its
# directory so that assertions never depend on the tools under test.

SIM_MAIN="$REPO_ROOT/dist/src/sim/tools/server.js"

# Settings for sim_setup. FAST: a stock host whose guests boot in 0.3 s, with short agent pings and
# lock waits (the code paths are the real ones). PREPARED: a host prepared for linus (snippets on
# `local`) whose guests boot and start their agent at once: the shortest runs.
FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500}'
PREPARED='{"prepared":true,"bootDelayMs":0,"agentInstallDelayMs":0,"agentPingTimeoutMs":300,"lockTimeoutMs":1500}'

# Skips when the simulator is not built, unless CI is set (then a missing simulator fails).
require_sim() {
  [[ -f "$SIM_MAIN" && -f "$REPO_ROOT/dist/provisioners/manifest.json" ]] && return 0
  [[ -z "${CI:-}" ]] || fail "CI is set but the simulator or the bundle is not built ($SIM_MAIN, dist/provisioners/manifest.json): run npm run build"
  skip "simulator not built ($SIM_MAIN missing): run npm run build"
}

# Lays out a fresh simulated host under $BATS_TEST_TMPDIR/sim (createSimHost, in the run's layout
# server: helpers/sim-factory.mjs; it also seeds <existing VMs> stopped non-linus VMs 100...), and sets
# SIM_ROOT, SIM_REMOTE (the provisioner's --remote-dir), SIM_SHELL and BUNDLE.
# The host's clock runs 10x faster for the provisioner's poll intervals unless the settings say
# otherwise (clockScale, src/sim/settings.ts). The host leases a loopback /16 of its own
# (src/sim/address-block.ts) so that tests can run at once: SIM_NET is its first two octets
# (SIM_NET_RE the same as a regular expression), and
# vmbr0 of a node without bridges of its own is $SIM_NET.0.0/24 (router .1, node .2). A literal
# $SIM_NET in the settings names it too (single-quoted: sim_setup replaces it).
sim_setup() { # [settings JSON] [existing VMs]
  SIM_ROOT="$BATS_TEST_TMPDIR/sim"
  [[ -n "${SIM_FACTORY_PORT:-}" ]] || fail "the simulator's layout server is not running (tests/shell/setup_suite.bash starts it)"
  local fd reply=""
  exec {fd}<>"/dev/tcp/127.0.0.1/$SIM_FACTORY_PORT" || fail "cannot reach the simulator's layout server on port $SIM_FACTORY_PORT"
  printf '%s\0%s\0%s\0' "$SIM_ROOT" "${1:-{\}}" "${2:-0}" >&"$fd"
  IFS= read -r reply <&"$fd" || true
  exec {fd}>&-
  [[ "$reply" == "ok "* ]] || fail "the simulator could not lay out a host: ${reply#error }"
  SIM_NET=${reply#ok }
  SIM_NET_RE=${SIM_NET//./\\.}
  SIM_REMOTE="$SIM_ROOT/var/lib/linus"
  SIM_SHELL="$SIM_ROOT/sim/host-shell-pve"
  [[ -x "$SIM_SHELL" ]] || fail "the simulator wrote no $SIM_SHELL"
  BUNDLE="$REPO_ROOT/dist/provisioners/$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{file}' <"$REPO_ROOT/dist/provisioners/manifest.json")"
  [[ -f "$BUNDLE" ]] || fail "the bundle named by dist/provisioners/manifest.json is missing: $BUNDLE"
}

# A machine that is not a VM holding <ip> on the node's LAN: it answers ARP, and SSH unless the
# second argument is "no-ssh" (SimHost.addForeignMachine). Prints its MAC.
sim_foreign() { # <ip> [no-ssh]
  node --input-type=module -e '
    const { openSimHost } = await import(process.argv[1]);
    const machine = await openSimHost(process.argv[2]).addForeignMachine({ ip: process.argv[3], ssh: process.argv[4] !== "no-ssh" });
    console.log(machine.mac);' "$REPO_ROOT/dist/src/sim/host.js" "$SIM_ROOT" "$1" "${2:-}"
}

sim_host() { # <command string>
  "$SIM_SHELL" -c "$1"
}

# lib_run on the simulated host: <bash code> runs in a fresh bash there with the provisioner's
# sources loaded, so its functions make real calls to the simulated tools.
sim_lib_run() { # <bash code>
  run sim_host "$(printf '%q ' bash -c 'source "$1"; WORK_DIR=$(mktemp -d); set +e; eval "$2"' _ "$ENTRY" "$1")"
}

# Adds an NFS storage with images content to storage.cfg (with the fault storageOffline, one
# whose server is down).
sim_nfs_storage() { # <storage id>
  printf '\nnfs: %s\n\texport /export/pve\n\tpath /mnt/pve/%s\n\tserver 10.0.0.9\n\tcontent images\n' "$1" "$1" >>"$SIM_ROOT/etc/pve/storage.cfg"
}

# Serves the simulator's cloud image and its SHA256SUMS over HTTP (src/sim/image-server.ts) until
# sim_teardown, as a distribution's mirror does; sets HTTP_IMAGE_URL, HTTP_SUMS_URL, HTTP_BASE_URL.
sim_image_server() {
  local info="$BATS_TEST_TMPDIR/image-server.txt" i
  node --input-type=module -e '
    const fs = await import("node:fs");
    const { startImageServer } = await import(process.argv[1]);
    const server = await startImageServer({ dir: process.argv[2] });
    fs.writeFileSync(process.argv[3] + ".tmp", `${server.images[0].url} ${server.sumsUrl} ${server.baseUrl}\n`);
    fs.renameSync(process.argv[3] + ".tmp", process.argv[3]);
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));' \
    "$REPO_ROOT/dist/src/sim/image-server.js" "$BATS_TEST_TMPDIR/served" "$info" 3>&- &
  SIM_IMAGE_SERVER_PID=$!
  for ((i = 0; i < 100; i++)); do
    [[ -s "$info" ]] && break
    sleep 0.1
  done
  [[ -s "$info" ]] || fail "the image server did not start"
  read -r HTTP_IMAGE_URL HTTP_SUMS_URL HTTP_BASE_URL <"$info"
}

# Replaces sim/faults.json (read by every tool call).
sim_faults() { # <faults JSON>
  printf '%s\n' "$1" >"$SIM_ROOT/sim/faults.json"
}

# Stops what a test may have left running under the sim root: provisioner jobs (TERM, so they roll
# back), guests, foreign machines and the tool server (only processes whose pid files live
# under the root and whose command line names it).
sim_teardown() {
  if [[ -n "${SIM_IMAGE_SERVER_PID:-}" ]]; then
    kill -TERM "$SIM_IMAGE_SERVER_PID" 2>/dev/null || true
    wait "$SIM_IMAGE_SERVER_PID" 2>/dev/null || true
    SIM_IMAGE_SERVER_PID=""
  fi
  [[ -n "${SIM_ROOT:-}" && -d "$SIM_ROOT" ]] || return 0
  local f pid i
  local -a pids=()
  # A `qm create` held half-way by the createCrash hang fault goes on and ends.
  rm -f "$SIM_ROOT/sim/faults.json"
  for f in "$SIM_REMOTE"/jobs/*/pid; do
    [[ -f "$f" ]] || continue
    pid=$(<"$f")
    _sim_owns "$pid" _job && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for ((i = 0; i < 100 && ${#pids[@]}; i++)); do
    _sim_any_alive "${pids[@]}" || break
    sleep 0.2
  done
  pids=()
  for f in "$SIM_ROOT"/var/run/qemu-server/*.pid; do
    [[ -f "$f" ]] || continue
    pid=$(<"$f")
    _sim_owns "$pid" linus-sim-guest && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for ((i = 0; i < 25 && ${#pids[@]}; i++)); do
    _sim_any_alive "${pids[@]}" || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do
    _sim_owns "$pid" linus-sim-guest && kill -KILL "$pid" 2>/dev/null
  done
  # Foreign machines stop when their record goes.
  rm -f "$SIM_ROOT"/sim/foreign/*.json
  # The host's tool server (src/sim/tools/server.ts) ends with the test, as SimHost.dispose ends it;
  # the run's layout server stops serving the host when its socket goes.
  rm -f "$SIM_ROOT/sim/tools.sock"
  pid=$(cat "$SIM_ROOT/sim/tool-server.pid" 2>/dev/null) || pid=""
  if _sim_owns "$pid" tools/server.js; then
    kill -TERM "$pid" 2>/dev/null || true
    _sim_gone_within "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  fi
  # Its address block goes back to the machine's pool, as SimHost.dispose gives it back.
  local block=${SIM_NET:-}
  block=${block#127.}
  local lease="${TMPDIR:-/tmp}/linus-sim-address-blocks/$block"
  [[ -n "$block" && "$(cat "$lease" 2>/dev/null)" == "$SIM_ROOT" ]] && rm -f "$lease"
  return 0
}

# Whether <pid> is a live process whose command line holds <word> and names the sim root.
_sim_owns() { # <pid> <word>
  [[ "$1" =~ ^[1-9][0-9]*$ && -r "/proc/$1/cmdline" ]] || return 1
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$2"* && "$cmdline" == *"$SIM_ROOT"* ]]
}

_sim_any_alive() { # <pid...>
  local pid
  for pid in "$@"; do
    kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

# A live process (a zombie waiting for its reaper does not count).
_sim_alive() { # <pid>
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

_sim_gone_within() { # <pid> <seconds>
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    _sim_alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

# VM ids with a config on any node, sorted.
sim_vms() {
  local f
  for f in "$SIM_ROOT"/etc/pve/nodes/*/qemu-server/*.conf; do
    [[ -f "$f" ]] || continue
    f=${f##*/}
    echo "${f%.conf}"
  done | sort -n
}

sim_conf() { # <vmid>
  cat "$SIM_ROOT"/etc/pve/nodes/*/qemu-server/"$1".conf
}

# VM ids whose config carries the tag linus-<run-id>.
sim_tagged() { # <run-id>
  local f
  for f in "$SIM_ROOT"/etc/pve/nodes/*/qemu-server/*.conf; do
    [[ -f "$f" ]] || continue
    grep -Eq "^tags: (.*[;, ])?linus-$1([;, ]|\$)" "$f" || continue
    f=${f##*/}
    echo "${f%.conf}"
  done | sort -n
}

# "<vmid> <volid>" per volume record (sim/volumes/<storage>/<volname>.json).
sim_volumes() {
  local f
  for f in "$SIM_ROOT"/sim/volumes/*/*.json; do
    [[ -f "$f" ]] || continue
    perl -MJSON::PP -e 'local $/; my $v = decode_json(<STDIN>); print "$v->{vmid} $v->{volid}\n"' <"$f"
  done | sort -n
}

# Volume records whose VM has no config: what a failed create or rollback leaked.
sim_orphan_volumes() {
  local vmid volid
  local -A have=()
  for vmid in $(sim_vms); do have[$vmid]=1; done
  while read -r vmid volid; do
    [[ -n "${have[$vmid]:-}" ]] || echo "$volid"
  done < <(sim_volumes)
}

# Held per-VM lock files (holder alive: a flock dies with its holder) and `lock:` lines in configs.
sim_locks() {
  local f pid
  for f in "$SIM_ROOT"/var/lock/qemu-server/lock-*.conf; do
    [[ -e "$f" ]] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] && ! _sim_alive "$pid" && continue
    echo "${f#"$SIM_ROOT"}"
  done
  grep -H '^lock:' "$SIM_ROOT"/etc/pve/nodes/*/qemu-server/*.conf 2>/dev/null || true
}

# Guests still running (vmids).
sim_running_guests() {
  local f pid
  for f in "$SIM_ROOT"/var/run/qemu-server/*.pid; do
    [[ -f "$f" ]] || continue
    pid=$(<"$f")
    _sim_alive "$pid" || continue
    f=${f##*/}
    echo "${f%.pid}"
  done
}

# The guest's IPv4 as `qm start` handed it out (sim/guests/<vmid>.json).
sim_guest_ip() { # <vmid>
  perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{ip} // ""' <"$SIM_ROOT/sim/guests/$1.json"
}

# Calls in sim/calls.jsonl as "<tool> <argv...>" lines.
sim_calls() {
  [[ -f "$SIM_ROOT/sim/calls.jsonl" ]] || return 0
  perl -MJSON::PP -ne 'my $c = decode_json($_); print join(" ", $c->{tool}, @{ $c->{argv} }), "\n"' "$SIM_ROOT/sim/calls.jsonl"
}

sim_call_count() { # [grep -E pattern]
  sim_calls | grep -Ec "${1:-.}" || true
}

sim_clear_calls() {
  rm -f "$SIM_ROOT/sim/calls.jsonl"
}

# Creates a VM directly with qm (as a person or another tool would), optionally tagged.
sim_qm_create() { # <vmid> <name> [tags] [extra qm create args...]
  local vmid=$1 name=$2 tags=${3:-}
  local -a args=(qm create "$vmid" --name "$name" --memory 512 --net0 virtio,bridge=vmbr0 --scsi0 local-lvm:1)
  [[ -z "$tags" ]] || args+=(--tags "$tags")
  args+=("${@:4}")
  local cmd
  printf -v cmd '%q ' "${args[@]}"
  sim_host "$cmd" >/dev/null || fail "qm create $vmid failed on the simulated host"
}

# The job directory of a run, and assertions on it.
sim_job() { # <run-id>
  echo "$SIM_REMOTE/jobs/$1"
}

# A run left nothing behind: the job finished and its process is gone; no VM carries the run's
# tag; no volume without a VM; no lock file or config lock; no guest of the given VMs runs.
assert_no_leftovers() { # <run-id> [vmid...]
  local run_id=$1 dir vmid
  dir=$(sim_job "$run_id")
  [[ "$(cat "$dir/state")" == finished ]] || fail "job $run_id is not finished: $(cat "$dir/state")"
  # The job writes `finished` last but one step before it exits: give it a moment.
  if [[ -f "$dir/pid" ]] && ! _sim_gone_within "$(<"$dir/pid")" 10; then
    fail "job $run_id still has a running process $(<"$dir/pid")"
  fi
  [[ -z "$(sim_tagged "$run_id")" ]] || fail "VMs tagged linus-$run_id left: $(sim_tagged "$run_id" | tr '\n' ' ')"
  [[ -z "$(sim_orphan_volumes)" ]] || fail "volumes without a VM left: $(sim_orphan_volumes | tr '\n' ' ')"
  [[ -z "$(sim_locks)" ]] || fail "locks left: $(sim_locks | tr '\n' ' ')"
  for vmid in "${@:2}"; do
    [[ ! -f "$SIM_ROOT/var/run/qemu-server/$vmid.pid" ]] || _sim_gone_within "$(<"$SIM_ROOT/var/run/qemu-server/$vmid.pid")" 10 ||
      fail "the guest of VM $vmid still runs"
  done
}

# Waits until the job's log holds a line matching <regex> (at most <seconds>, default 60).
wait_job_log() { # <run-id> <regex> [seconds]
  local log i
  log="$(sim_job "$1")/log"
  for ((i = 0; i < ${3:-60} * 5; i++)); do
    [[ -f "$log" ]] && grep -Eq "$2" "$log" && return 0
    sleep 0.2
  done
  fail "job $1 never logged /$2/: $(tail -n 20 "$log" 2>/dev/null)"
}

# The run id of sim_opts, sim_provision and assert_failed_clean (a test file may set its own).
RID=fault-run1

# The options of a request as run $RID (VM f01, 8 GiB, the test image), quoted for the host
# shell's bash -c.
# A request for web01 (2 cores, 2048 MiB, 8 GiB, 30 s), quoted for the host shell's bash -c.
web01_opts() { # [more options]
  printf '%q ' --remote-dir "$SIM_REMOTE" --name web01 --cores 2 --memory 2048 --disk 8 \
    --ssh-key-b64 "$TEST_KEY_B64" --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 "$@"
}

sim_opts() { # [more options]
  printf '%q ' --run-id "$RID" --remote-dir "$SIM_REMOTE" --name f01 --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 60 "$@"
}

# A whole run of the bundle with sim_opts, stderr merged into $output.
sim_provision() { # [more options]
  run sim_host "bash $BUNDLE run $(sim_opts "$@") 2>&1"
}

# The failure block with <code> and <exit>, and nothing left of run $RID.
assert_failed_clean() { # <code> <exit> [vmid...]
  assert_failure "$2"
  assert_line 'LINUS_RESULT:FAILURE'
  assert_line "LINUS_ERROR_CODE:$1"
  assert_line "LINUS_EXIT:$2"
  assert_equal "${lines[-1]}" 'LINUS_END'
  assert_equal "$(cat "$(sim_job "$RID")/exit")" "$2"
  assert_no_leftovers "$RID" "${@:3}"
}

# The value of the last LINUS_<key> line in $output.
linus_value() { # <KEY>
  sed -n "s/^LINUS_$1://p" <<<"$output" | tail -n 1
}

# The vm provisioner's entry script, run from the sources.
ENTRY_OPS="$REPO_ROOT/shell/ops/vm.sh"

# Runs `vm.sh <args> --remote-dir <remote>` on the simulated node pve; bats' $output and $status.
ops() { # <args...>
  run sim_host "bash $(printf '%q' "$ENTRY_OPS") $(printf '%q ' "$@") --remote-dir $(printf '%q' "$SIM_REMOTE")"
}

# Every file that loads this one: the simulator must be built; each test's host goes away after
# it. A file's own setup or teardown replaces these.
setup() {
  require_sim
}

teardown() {
  sim_teardown
}
