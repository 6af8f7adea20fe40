#!/usr/bin/env bats
# The BUNDLED provisioner (what gets uploaded), not the sources: one self-contained file.

load helpers/common

setup_file() {
  local root
  root="$(cd "$(dirname "$BATS_TEST_FILENAME")/../.." && pwd)"
  (cd "$root" && npx tsc -p tsconfig.json >/dev/null 2>&1; node dist/src/provisioners/build-cli.js >/dev/null) ||
    true
}

setup() {
  fake_host
  BUNDLE=$(ls "$REPO_ROOT"/dist/provisioners/proxmox-*.sh 2>/dev/null | head -n 1)
  [[ -n "$BUNDLE" ]] || fail "no bundle in dist/provisioners: run npm run build"
  # Copied alone into an empty directory: it must not need shell/lib.
  cp "$BUNDLE" "$BATS_TEST_TMPDIR/provisioner.sh"
  BUNDLE="$BATS_TEST_TMPDIR/provisioner.sh"
}

@test "the bundle has its header, is shellcheck clean and sources nothing" {
  run sed -n 2p "$BUNDLE"
  assert_output --regexp '^# linus-provisioner name=proxmox version=[0-9.]+ protocol=1 sha256=[0-9a-f]{64}$'
  local want got
  want=$(sed -n '2s/.*sha256=//p' "$BUNDLE")
  got=$(tail -n +3 "$BUNDLE" | sha256sum | cut -d' ' -f1)
  assert_equal "$got" "$want"
  run grep -nE '^\s*(source|\.) ' "$BUNDLE"
  assert_failure
  run shellcheck "$BUNDLE"
  assert_success
}

@test "version reports the package version and verifies its own body" {
  run bash "$BUNDLE" version
  assert_success
  assert_line --index 0 'LINUS_PROTOCOL:1'
  assert_line "LINUS_VERSION:$(node -p 'require(process.argv[1]).version' "$REPO_ROOT/package.json")"
  assert_line "LINUS_BODY_SHA256:$(sed -n '2s/.*sha256=//p' "$BUNDLE")"
  assert_equal "${lines[-1]}" 'LINUS_END'
}

@test "a dry run of the bundle against the fake host plans the create and writes nothing" {
  mapfile -t OPTS < <(std_opts)
  run bash "$BUNDLE" run "${OPTS[@]}" --dry-run --run-id bundle-dry1
  assert_success
  assert_line --regexp '^LINUS_PLAN:qm create 100 --name web01 .*--tags .linus;linus-bundle-dry1. '
  assert_line 'LINUS_RESULT:DRY_RUN'
  assert_equal "$(fake_vms)" ''
  [[ ! -e "$REMOTE" ]] || fail "dry run wrote $REMOTE"
}

@test "the bundle provisions end to end as a detached job" {
  ssh_listener "$GUEST_IP"
  mapfile -t OPTS < <(std_opts)
  run bash "$BUNDLE" run "${OPTS[@]}"
  stop_listener
  assert_success
  assert_line 'LINUS_RESULT:SUCCESS'
}
