#!/usr/bin/env bats
# shell/lib/image.sh, the image step alone (no Proxmox call): checksum files (GNU, BSD, sha512),
# verification, cache reuse, partial downloads, virtual size.

load helpers/common

setup() {
  REMOTE="$BATS_TEST_TMPDIR/remote"
  test_image 2
  SUMS="$BATS_TEST_TMPDIR/sums"
}

@test "sums_lookup reads GNU, binary-mode and BSD lines, sha256 and sha512" {
  local h256 h512
  h256=$(printf 'a%.0s' {1..64})
  h512=$(printf 'b%.0s' {1..128})
  cat >"$SUMS" <<SUMS
# comment
${h256/a/c} *other.img
$h256 *noble-server-cloudimg-amd64.img
${h512}  debian-12-genericcloud-amd64.qcow2
SHA256 (Rocky-9-GenericCloud-Base.latest.x86_64.qcow2) = ${h256^^}
SHA512 (short.img) = $h256
SUMS
  printf '%s\r\n' "$h256  crlf.img" >>"$SUMS"
  lib_run "sums_lookup '$SUMS' noble-server-cloudimg-amd64.img"
  assert_output "sha256 $h256"
  lib_run "sums_lookup '$SUMS' debian-12-genericcloud-amd64.qcow2"
  assert_output "sha512 $h512"
  lib_run "sums_lookup '$SUMS' Rocky-9-GenericCloud-Base.latest.x86_64.qcow2"
  assert_output "sha256 $h256"
  lib_run "sums_lookup '$SUMS' crlf.img"
  assert_output "sha256 $h256"
  lib_run "sums_lookup '$SUMS' short.img"
  assert_failure
  lib_run "sums_lookup '$SUMS' missing.img"
  assert_failure
}

@test "an image is fetched through its SUMS file (sha512 too) and cached under its hash" {
  local h
  h=$(sha512sum "$IMAGE_FILE" | cut -d' ' -f1)
  printf '%s  %s\n' "$h" "${IMAGE_FILE##*/}" >"$SUMS"
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url '$IMAGE_URL' --image-sums-url 'file://$SUMS'; validate_spec; image_resolve && image_fetch && echo \"\$IMG_ALGO \$IMG_PATH\""
  assert_success
  assert_line "sha512 $REMOTE/images/sha512.$h.img"
  cmp "$IMAGE_FILE" "$REMOTE/images/sha512.$h.img"
}

@test "a checksum mismatch is IMAGE_CHECKSUM_MISMATCH and leaves no file behind" {
  local wrong
  wrong=$(printf '0%.0s' {1..64})
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url '$IMAGE_URL' --image-sha256 $wrong; validate_spec; image_resolve; image_fetch"
  assert_failure 8
  assert_output --partial "error [IMAGE_CHECKSUM_MISMATCH]"
  assert_output --partial "expected $wrong"
  run ls -A "$REMOTE/images"
  assert_output ''
}

@test "a SUMS file without the image, or an unreachable URL, fails with its code" {
  printf '%s  other.img\n' "$IMAGE_SHA" >"$SUMS"
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url '$IMAGE_URL' --image-sums-url 'file://$SUMS'; validate_spec; image_resolve"
  assert_failure 8
  assert_output --partial 'lists no checksum for test-2-ubuntu-24.04.qcow2'
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url 'file:///nonexistent/x.img' --image-sha256 $IMAGE_SHA; validate_spec; image_resolve; image_fetch"
  assert_failure 7
  assert_output --partial 'error [IMAGE_DOWNLOAD_FAILED]'
}

@test "a cached image is reused without download; a corrupted cache entry is replaced" {
  mkdir -p "$REMOTE/images"
  cp "$IMAGE_FILE" "$REMOTE/images/sha256.$IMAGE_SHA.img"
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url 'file:///nonexistent/x.img' --image-sha256 $IMAGE_SHA; validate_spec; image_resolve; image_fetch"
  assert_success
  assert_output --partial 'image cache hit'
  echo garbage >"$REMOTE/images/sha256.$IMAGE_SHA.img"
  lib_run "parse_spec --password --remote-dir '$REMOTE' --image-url '$IMAGE_URL' --image-sha256 $IMAGE_SHA; validate_spec; image_resolve; image_fetch"
  assert_success
  assert_output --partial 'does not match its hash'
  cmp "$IMAGE_FILE" "$REMOTE/images/sha256.$IMAGE_SHA.img"
}

# A cloud image is 300-700 MB: hashing it again for every VM would cost seconds of CPU and disk on
# every provision, one run after the other under the cache lock.
@test "a cached image is hashed once: later runs trust its stamp; any write to the file makes them hash it again" {
  local fetch="parse_spec --password --remote-dir '$REMOTE' --image-url '$IMAGE_URL' --image-sha256 $IMAGE_SHA; validate_spec; image_resolve; image_fetch"
  local cached="$REMOTE/images/sha256.$IMAGE_SHA.img" nohash="$BATS_TEST_TMPDIR/nohash" mtime
  lib_run "$fetch"
  assert_success
  assert_output --partial 'image verified and cached'
  # From here on, hashing anything fails.
  mkdir -p "$nohash"
  printf '#!/bin/sh\necho "sha256sum must not run" >&2\nexit 1\n' >"$nohash/sha256sum"
  chmod +x "$nohash/sha256sum"
  lib_run "PATH='$nohash':\$PATH; $fetch"
  assert_success
  assert_output --partial "image cache hit: $cached (verified when it was cached)"
  # Rewritten in place with its old size and mtime: the change time still gives it away.
  mtime=$(stat -c %.9Y "$cached")
  printf 'X' | dd of="$cached" bs=1 seek=100 conv=notrunc status=none
  touch -d "@$mtime" "$cached"
  lib_run "PATH='$nohash':\$PATH; $fetch"
  assert_failure
  assert_output --partial 'does not match its hash'
  lib_run "$fetch"
  assert_success
  cmp "$IMAGE_FILE" "$cached"
}

@test "concurrent runs share one download" {
  local i
  for i in 1 2 3; do
    bash -c 'source "$1"; WORK_DIR=$(mktemp -d); parse_spec --password --remote-dir "$2" --image-url "$3" --image-sha256 "$4"; validate_spec; image_resolve; image_fetch' \
      _ "$ENTRY" "$REMOTE" "$IMAGE_URL" "$IMAGE_SHA" >"$BATS_TEST_TMPDIR/fetch.$i" 2>&1 &
  done
  wait
  assert_equal "$(cat "$BATS_TEST_TMPDIR"/fetch.* | grep -c 'linus: downloading')" 1
  assert_equal "$(cat "$BATS_TEST_TMPDIR"/fetch.* | grep -c 'image cache hit')" 2
  run ls "$REMOTE/images"
  assert_output "sha256.$IMAGE_SHA.img"
}

@test "virtual size comes from the qcow2 header, or the size of a raw file" {
  lib_run "image_virtual_size '$IMAGE_FILE'"
  assert_output $((2 * 1024 ** 3))
  head -c 5000 /dev/zero >"$BATS_TEST_TMPDIR/raw.img"
  lib_run "image_virtual_size '$BATS_TEST_TMPDIR/raw.img'"
  assert_output 5000
}
