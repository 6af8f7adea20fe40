# shellcheck shell=bash
# Step 2: a verified cloud image in a content-addressed cache, <remote-dir>/images/<algo>.<hash>.img
# (the dot keeps the hash a token of its own: ssh-mcp redacts long high-entropy runs).
# The hash comes from --image-sha256 or the distribution's checksum file (sha256 or sha512). A
# download goes to a temp file and is renamed only once verified, and is hashed again only once
# something wrote to it (its stat key under images/.verified/); a flock on the images directory
# makes concurrent runs share one download.

IMG_ALGO=""
IMG_HASH=""
IMG_PATH=""
# How image_cached knew the cached copy is right.
CACHE_HIT=""
# A partial download to remove if we stop early.
IMG_TMP=""

# Finds the checksum of <name> in a checksum file: GNU (`hash  name`, `hash *name`) or BSD/tagged
# (`SHA256 (name) = hash`) lines, sha256 or sha512. Prints "<algo> <hash>".
sums_lookup() { # <sums file> <name>
  local line hash file algo bits
  while IFS= read -r line || [[ -n "$line" ]]; do
    line=${line%$'\r'}
    if [[ "$line" =~ ^([0-9A-Fa-f]{64}|[0-9A-Fa-f]{128})\ [\ *]?(.+)$ ]]; then
      hash=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]}
      algo=sha$((${#hash} == 64 ? 256 : 512))
    elif [[ "$line" =~ ^SHA(256|512)\ \((.+)\)\ =\ ([0-9A-Fa-f]+)$ ]]; then
      bits=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]} hash=${BASH_REMATCH[3]}
      algo=sha$bits
      ((${#hash} == bits / 4)) || continue
    else
      continue
    fi
    [[ "${file#./}" == "$2" ]] || continue
    echo "$algo ${hash,,}"
    return 0
  done <"$1"
  return 1
}

# The download tool: curl, or wget where curl is missing (wget is a pve-manager dependency, curl
# is not; check_tools makes sure one of them is there).
_downloader() {
  if command -v curl >/dev/null 2>&1; then echo curl; else echo wget; fi
}

# Fetches <url> into <file>, either tool retrying transient failures 3 times and giving up on a
# connection after 20 s; <max seconds> (0: none) bounds the whole transfer. Sets DOWNLOAD_ERR to
# the reason of a failure.
DOWNLOAD_ERR=""
_download() { # <url> <file> <max seconds>
  local rc=0 tool
  local -a bound=()
  tool=$(_downloader)
  if [[ "$tool" == curl ]]; then
    if (($3)); then bound=(--max-time "$3"); fi
    bg_run curl -fsSL --retry 3 --connect-timeout 20 "${bound[@]}" -o "$2" "$1" 2>"$WORK_DIR/download.err" || rc=$?
  else
    # wget retries by itself from where a dropped transfer stopped.
    if (($3)); then bound=(timeout "$3"); fi
    bg_run "${bound[@]}" wget -nv --tries=4 --connect-timeout=20 -O "$2" "$1" 2>"$WORK_DIR/download.err" || rc=$?
  fi
  ((rc)) || return 0
  DOWNLOAD_ERR=$(grep -v '^[[:space:]]*$' "$WORK_DIR/download.err" | tail -n 1) || true
  if [[ "$tool" == wget && $rc == 124 ]]; then
    DOWNLOAD_ERR="wget timed out after $3 s"
  fi
  DOWNLOAD_ERR=${DOWNLOAD_ERR:-$tool exit status $rc}
  return "$rc"
}

# The name a checksum file lists the image under: the last path part of its URL.
_image_name() { # <url>
  local path=${1%%[?#]*}
  echo "${path##*/}"
}

# Sets IMG_ALGO, IMG_HASH and IMG_PATH; reads the checksum file unless --image-sha256 was given.
image_resolve() {
  local url=${SPEC[image_url]} sums_url=${SPEC[image_sums_url]} name found
  if [[ -n "${SPEC[image_sha256]:-}" ]]; then
    IMG_ALGO=sha256 IMG_HASH=${SPEC[image_sha256]}
  else
    name=$(_image_name "$url")
    log "reading checksums from $sums_url"
    _download "$sums_url" "$WORK_DIR/sums" 120 || die IMAGE_DOWNLOAD_FAILED "cannot download $sums_url: $DOWNLOAD_ERR"
    found=$(sums_lookup "$WORK_DIR/sums" "$name") ||
      die IMAGE_CHECKSUM_MISMATCH "$sums_url lists no checksum for $name"
    read -r IMG_ALGO IMG_HASH <<<"$found"
  fi
  IMG_PATH="${SPEC[remote_dir]}/images/$IMG_ALGO.$IMG_HASH.img"
  log "image $url ($IMG_ALGO $IMG_HASH)"
}

# Prints the hash of a file with IMG_ALGO.
_hash_of() { # <file>
  bg_run "${IMG_ALGO}sum" -- "$1" >"$WORK_DIR/hash.out" || return 1
  local hash _
  read -r hash _ <"$WORK_DIR/hash.out"
  echo "$hash"
}

# What stat says of a file. A verified copy keeps all four until something writes to it: any write
# or touch moves the change time, which nobody can set back.
_stat_key() { # <file>
  stat -c '%s %i %.9Y %.9Z' -- "$1" 2>/dev/null
}

# Where the stat key of a verified cache entry is kept.
_stamp_path() {
  echo "${IMG_PATH%/*}/.verified/${IMG_PATH##*/}"
}

# Records that IMG_PATH, as it is now, holds the verified image.
_stamp_image() {
  local stamp key
  stamp=$(_stamp_path)
  key=$(_stat_key "$IMG_PATH") || return 0
  mkdir -p -- "${stamp%/*}" || return 0
  if ! { printf '%s\n' "$key" >"$stamp.tmp" && mv -f -- "$stamp.tmp" "$stamp"; }; then
    rm -f -- "$stamp.tmp"
  fi
}

# Whether the cache already holds the image with the right content (a bad copy is removed). A cloud
# image is hundreds of MB: it is hashed when it enters the cache, and again only once its stat key
# changed.
image_cached() {
  [[ -f "$IMG_PATH" ]] || return 1
  local stamp key recorded=""
  stamp=$(_stamp_path)
  key=$(_stat_key "$IMG_PATH") || key=""
  [[ ! -f "$stamp" ]] || read -r recorded <"$stamp" || true
  if [[ -n "$key" && "$key" == "$recorded" ]]; then
    CACHE_HIT="verified when it was cached"
    return 0
  fi
  if [[ "$(_hash_of "$IMG_PATH")" == "$IMG_HASH" ]]; then
    _stamp_image
    CACHE_HIT="hashed again"
    return 0
  fi
  log "cached $IMG_PATH does not match its hash; fetching it again"
  rm -f -- "$IMG_PATH" "$stamp"
  return 1
}

# Makes sure IMG_PATH holds the verified image.
image_fetch() {
  local dir=${IMG_PATH%/*} lock_fd got
  mkdir -p -- "$dir" || die IMAGE_DOWNLOAD_FAILED "cannot create $dir"
  exec {lock_fd}<"$dir"
  bg_run flock -w 3600 "$lock_fd" || die IMAGE_DOWNLOAD_FAILED "timed out waiting for another download into $dir"
  if image_cached; then
    log "image cache hit: $IMG_PATH ($CACHE_HIT)"
  else
    IMG_TMP="$dir/.$IMG_HASH.$$.part"
    log "downloading ${SPEC[image_url]} with $(_downloader)"
    _download "${SPEC[image_url]}" "$IMG_TMP" 0 || _image_fail IMAGE_DOWNLOAD_FAILED "cannot download ${SPEC[image_url]}: $DOWNLOAD_ERR"
    got=$(_hash_of "$IMG_TMP") || _image_fail IMAGE_DOWNLOAD_FAILED "cannot hash the download"
    [[ "$got" == "$IMG_HASH" ]] ||
      _image_fail IMAGE_CHECKSUM_MISMATCH "${SPEC[image_url]} has $IMG_ALGO $got, expected $IMG_HASH"
    mv -f -- "$IMG_TMP" "$IMG_PATH"
    IMG_TMP=""
    _stamp_image
    log "image verified and cached: $IMG_PATH"
  fi
  exec {lock_fd}<&-
}

# A failed download never stays in the cache directory.
_image_fail() { # <CODE> <message>
  image_cleanup
  die "$@"
}

# Removes a partial download (also from the EXIT trap).
image_cleanup() {
  [[ -z "$IMG_TMP" ]] || rm -f -- "$IMG_TMP"
  IMG_TMP=""
}

# Virtual size in bytes: qcow2 keeps it big-endian at bytes 24-31; a raw image is its file size.
image_virtual_size() { # <file>
  perl -e 'open(my $f, "<:raw", $ARGV[0]) or exit 1; my $h = "";
    if (read($f, $h, 32) == 32 && substr($h, 0, 4) eq "QFI\xfb") { print unpack("Q>", substr($h, 24, 8)), "\n" }
    else { print -s $ARGV[0], "\n" }' "$1"
}

# A disk smaller than the image is an input error, found before anything is created.
image_check_size() {
  local size disk_gib=${SPEC[disk]}
  size=$(image_virtual_size "$IMG_PATH") || die INTERNAL "cannot read $IMG_PATH"
  ((size <= disk_gib * 1024 * 1024 * 1024)) ||
    die INVALID_SPEC "--disk ${SPEC[disk]} GiB is smaller than the image ($(((size + 1073741823) / 1073741824)) GiB virtual size)"
}
