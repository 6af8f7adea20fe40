#!/usr/bin/env bash
# Captures the host transcripts tests/unit/protocol/records.test.ts parses: what the bundled host
# scripts (dist/provisioners) and the driver's upload commands print on the simulated host
# (dist/src/sim), stdout and stderr merged as the driver reads them. Between them they hold every
# record kind. Run after `npm run build`:  bash tests/unit/protocol/capture-transcripts.sh
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
OUT="$REPO_ROOT/tests/unit/protocol/transcripts"
BATS_TEST_TMPDIR=$(mktemp -d /tmp/linus-capture.XXXXXX)
TEST_KEY_B64=$(printf '%s\n' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHHmC0yXLqrc6gYbG5oUeX3tkgdpjbk9Hmr2s8mVe3Ee test@linus' | base64 -w0)
FAST='{"bootDelayMs":300,"agentPingTimeoutMs":500,"lockTimeoutMs":1500,"nodes":[{"name":"pve"},{"name":"pve2"}]}'

fail() {
  echo "capture: $*" >&2
  exit 1
}

# shellcheck source=tests/shell/helpers/sim.bash
source "$REPO_ROOT/tests/shell/helpers/sim.bash"
trap 'sim_teardown; rm -rf -- "$BATS_TEST_TMPDIR"' EXIT

# Runs <command> on node pve and keeps its output as transcripts/<name>.txt, with the temp
# directory's name made stable; <command>'s exit status must be <status>.
capture() { # <name> <status> <command>
  local status=0
  sim_host "$3 2>&1" >"$BATS_TEST_TMPDIR/out" || status=$?
  ((status == $2)) || fail "$1: exit status $status, expected $2: $(tail -n 5 "$BATS_TEST_TMPDIR/out")"
  sed "s|$BATS_TEST_TMPDIR|/tmp/linus-capture|g" "$BATS_TEST_TMPDIR/out" >"$OUT/$1.txt"
}

# Starts run <run-id> and kills its job with SIGKILL (no trap runs) once the VM waits for an address.
killed_run() { # <run-id> <name>
  local pid
  sim_host "$START --run-id $1 --name $2 --timeout 600" >/dev/null
  wait_job_log "$1" '^LINUS_STEP:7/9:ip$'
  pid=$(<"$SIM_REMOTE/jobs/$1/pid")
  kill -KILL -- "-$pid"
  _sim_gone_within "$pid" 10 || fail "job $1 survived SIGKILL"
}

sim_setup "$FAST"
sim_image_server
mkdir -p "$OUT"
OPS=$(ls "$REPO_ROOT"/dist/provisioners/vm-*.sh)
OPTS="--remote-dir $SIM_REMOTE --disk 4 --ssh-key-b64 $TEST_KEY_B64 --image-url $HTTP_IMAGE_URL --image-sums-url $HTTP_SUMS_URL"
RUN="bash $BUNDLE run $OPTS"
START="bash $BUNDLE start $OPTS"

capture version 0 "bash $BUNDLE version"
# Past 90 % of the node's memory with --capacity force: a capacity warning.
capture provision-dry-run 0 "$RUN --run-id cap-dry-1 --name dry --memory 60000 --capacity force --dry-run"
capture provision-success 0 "$RUN --run-id cap-good-1 --name good --password --timeout 120"
sim_faults '{"startFail":true}'
capture provision-failure 5 "$RUN --run-id cap-fail-1 --name broken --timeout 120"
capture provision-kept 5 "$RUN --run-id cap-keep-1 --name kept --timeout 120 --keep-on-failure"
sim_faults '{"agent":"never","neighbour":false}'
capture job-start 0 "$START --run-id cap-slow-1 --name slow --timeout 600"
wait_job_log cap-slow-1 '^LINUS_STEP:7/9:ip$'
capture job-wait-running 75 "bash $BUNDLE wait cap-slow-1 --remote-dir $SIM_REMOTE --max-seconds 0"
capture job-cancel 130 "bash $BUNDLE cancel cap-slow-1 --remote-dir $SIM_REMOTE"

# VM operations: a result, and a VM that lives on the other node.
capture op-status 0 "bash $OPS status 100 --remote-dir $SIM_REMOTE"
"$SIM_ROOT/sim/host-shell-pve2" -c 'qm create 190 --name far --tags linus' >/dev/null
capture op-other-node 17 "bash $OPS status 190 --remote-dir $SIM_REMOTE"

# Leftovers for cleanup and gc: two runs whose job was killed with their VM there, a half-created
# VM (its qm create killed too), a VM of a run with no job directory, an old partial download.
killed_run cap-dead-1 dead1
killed_run cap-dead-2 dead2
# Every job so far: finished (success, failure, cancelled) and died.
capture runs 0 "bash $BUNDLE runs --remote-dir $SIM_REMOTE"
sim_faults '{"createCrash":"hang"}'
sim_host "$START --run-id cap-crash-1 --name crash --timeout 60" >/dev/null
# Until the killed create is half-way: the claimed VM holds `lock: create` and its two volumes.
for ((i = 0; i < 300; i++)); do
  read -r vmid _ 2>/dev/null <"$SIM_REMOTE/jobs/cap-crash-1/claim" || vmid=""
  [[ -n "$vmid" && "$(sim_conf "$vmid" 2>/dev/null)" == 'lock: create' && "$(sim_volumes | grep -c "^$vmid ")" == 2 ]] && break
  sleep 0.2
done
((i < 300)) || fail "the crash job's qm create never got half-way"
pid=$(<"$SIM_REMOTE/jobs/cap-crash-1/pid")
kill -KILL -- "-$pid"
_sim_gone_within "$pid" 10 || fail "the crash job survived SIGKILL"
sim_faults '{}'
sim_qm_create 150 ghost 'linus;linus-cap-ghost-1'
touch -d '2 days ago' "$SIM_REMOTE/images/.$(printf '0%.0s' {1..64}).4242.part"

capture cleanup 0 "bash $BUNDLE cleanup cap-dead-2 --remote-dir $SIM_REMOTE"
capture gc-dry-run 0 "bash $BUNDLE gc --remote-dir $SIM_REMOTE --older-than 0 --dry-run"
capture gc 0 "bash $BUNDLE gc --remote-dir $SIM_REMOTE --older-than 0"

# The driver's own commands around a run (src/provisioners/remote.ts, src/agents/upload-steps.ts):
# a provisioner not cached yet, an upload that fails its check, and the agent plan's upload steps.
# shellcheck disable=SC2016 # JavaScript
node --input-type=module -e '
  const crypto = await import("node:crypto");
  const fs = await import("node:fs");
  const [dist, remoteDir, out] = process.argv.slice(1);
  const { cachedRunCommand, uploadCommands } = await import(`${dist}/src/provisioners/remote.js`);
  const { uploadSteps } = await import(`${dist}/src/agents/upload-steps.js`);
  const content = Buffer.from("#!/usr/bin/env bash\necho LINUS_PROTOCOL:1\n");
  const good = { name: "capture", version: "0.0.1", fileSha256: crypto.createHash("sha256").update(content).digest("hex"), content };
  const bad = { ...good, version: "0.0.2", fileSha256: "0".repeat(64) };
  const numbers = (parts) => ({ firstPart: 2, verify: parts + 2, next: parts + 3 });
  const agent = (provisioner, again) => {
    const steps = uploadSteps(remoteDir, provisioner, "cap-upload-1", 4000, numbers);
    return [steps.check, ...steps.parts, steps.verify, ...(again ? [steps.check] : [])].map((step) => `( ${step} )`).join("; ");
  };
  const commands = [
    ["upload-needed", 0, cachedRunCommand(remoteDir, good, ["version"])],
    ["upload-failed", 1, uploadCommands(remoteDir, bad, 4000, ["version"]).map((command) => `( ${command} )`).join("; ")],
    ["agent-upload", 0, agent(good, true)],
    ["agent-upload-failed", 24, agent(bad, false)],
  ];
  fs.writeFileSync(out, commands.map((entry) => `${entry.join("\t")}\n`).join(""));' \
  "$REPO_ROOT/dist" "$SIM_REMOTE" "$BATS_TEST_TMPDIR/commands"
while IFS=$'\t' read -r name status command; do
  capture "$name" "$status" "$command"
done <"$BATS_TEST_TMPDIR/commands"
echo "capture: $(find "$OUT" -name '*.txt' | wc -l) transcripts in $OUT"
