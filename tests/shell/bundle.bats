#!/usr/bin/env bats
# The BUNDLED provisioner (what gets uploaded), not the sources: one self-contained file that
# plans and provisions on the simulated host.

load helpers/common
load helpers/sim

# Bundles the current shell/ sources with the built bundler into a directory of this file's own;
# dist/ is left as it is.
setup_file() {
  local root
  root="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
  export BUILT_DIR="$BATS_FILE_TMPDIR/provisioners"
  [[ ! -f "$root/dist/src/provisioners/build-cli.js" ]] ||
    node "$root/dist/src/provisioners/build-cli.js" --out-dir "$BUILT_DIR" >/dev/null
}

setup() {
  require_sim
  [[ -f "$BUILT_DIR/manifest.json" ]] || fail "the bundler wrote nothing to $BUILT_DIR"
  local built
  built="$BUILT_DIR/$(perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{file}' <"$BUILT_DIR/manifest.json")"
  # Copied alone into an empty directory: it must not need shell/lib.
  cp "$built" "$BATS_TEST_TMPDIR/provisioner.sh"
  COPY="$BATS_TEST_TMPDIR/provisioner.sh"
}

# The simulated host, prepared: the guest's agent gives the address at once. (sim_setup points
# BUNDLE at dist/; these tests run COPY.)
host() {
  test_image 2
  sim_setup '{"prepared":true,"bootDelayMs":0,"agentInstallDelayMs":0,"agentPingTimeoutMs":300,"lockTimeoutMs":1500}'
}

# The options of a typical request, quoted for the host shell's bash -c.
opts() { # [more options]
  printf '%q ' --name web01 --cores 2 --memory 2048 --disk 8 --ssh-key-b64 "$TEST_KEY_B64" \
    --image-url "$IMAGE_URL" --image-sha256 "$IMAGE_SHA" --timeout 30 "$@"
}

@test "the bundle has its header, is shellcheck clean and sources nothing" {
  run sed -n 2p "$COPY"
  assert_output --regexp '^# linus-provisioner name=proxmox version=[0-9.]+ protocol=1 sha256=[0-9a-f]{64}$'
  local want got
  want=$(sed -n '2s/.*sha256=//p' "$COPY")
  got=$(tail -n +3 "$COPY" | sha256sum | cut -d' ' -f1)
  assert_equal "$got" "$want"
  run grep -nE '^\s*(source|\.) ' "$COPY"
  assert_failure
  run shellcheck "$COPY"
  assert_success
}

@test "version reports the package version and verifies its own body" {
  run bash "$COPY" version
  assert_success
  assert_line --index 0 'LINUS_PROTOCOL:1'
  assert_line "LINUS_VERSION:$(node -p 'require(process.argv[1]).version' "$REPO_ROOT/package.json")"
  assert_line "LINUS_BODY_SHA256:$(sed -n '2s/.*sha256=//p' "$COPY")"
  assert_equal "${lines[-1]}" 'LINUS_END'
}

@test "a dry run of the bundle on the simulated host plans the create and writes nothing" {
  host
  local remote="$BATS_TEST_TMPDIR/remote"
  run sim_host "bash $COPY run $(opts --remote-dir "$remote" --dry-run --run-id bundle-dry1)"
  assert_success
  assert_line --regexp '^LINUS_PLAN:qm create 100 --name web01 .*--tags .linus;linus-bundle-dry1. '
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_equal "$(sim_vms)" ''
  [[ ! -e "$remote" ]] || fail "dry run wrote $remote"
}

@test "the bundle provisions end to end as a detached job" {
  host
  run sim_host "bash $COPY run $(opts --remote-dir "$SIM_REMOTE")"
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
}
