import { gzipSync } from 'node:zlib';
import { remotePath, UPLOAD_FAILED, UPLOAD_NEEDED, type ProvisionerFile } from '../provisioners/remote.js';
import { shellQuote } from '../util/shell-quote.js';

// Printed by the check, upload and verify steps when this exact provisioner is already in place.
export const CACHED = 'LINUS_CACHED';
export const UPLOADED = 'LINUS_UPLOADED';
export const UPLOAD_PART = 'LINUS_UPLOAD_PART';
// The part number is written with this many digits, so the verify step's glob sorts them.
const PART_DIGITS = 4;
const MAX_PARTS = 10 ** PART_DIGITS - 1;
// A chunk smaller than this makes the plan absurdly long; ask for a larger --max-chars instead.
const MIN_CHUNK = 64;

// Every step is one line whose stderr is merged into stdout (ssh-mcp v1 fails a call on any
// stderr; v2 shows it apart, after stdout).
export const oneLine = (body: string): string => `{ ${body}; } 2>&1`;

// `f` names the provisioner's cached path on the host.
export const fileVar = (remoteDir: string, provisioner: ProvisionerFile): string => `f=${shellQuote(remotePath(remoteDir, provisioner))}`;

// True when the file's sha256 is the expected one; a missing file is simply not it.
export const hashOk = (file: string, sha256: string): string => `[ "$(sha256sum ${file} 2>/dev/null | cut -c1-64)" = ${sha256} ]`;

export interface UploadStepNumbers {
  firstPart: number;
  verify: number;
  next: number;
}

export interface UploadSteps {
  check: string;
  parts: string[];
  verify: string;
}

// The limit on one command leaves too little room for the upload.
export class UploadRoomError extends Error {}

const partName = (index: number) => String(index).padStart(PART_DIGITS, '0');

// The provisioner, gzip-compressed (the agent writes every base64 character as output tokens)
// and split into parts that each fit one command. Each part goes to its own file, so running a
// part step twice does no harm; the verify step joins them in order, checks the sha256 of the
// result against the provisioner's and renames it into place.
export function uploadSteps(
  remoteDir: string,
  provisioner: ProvisionerFile,
  nonce: string,
  maxChars: number,
  numbers: (partCount: number) => UploadStepNumbers,
): UploadSteps {
  if (!/^[a-z0-9-]+$/.test(nonce)) throw new Error(`the upload nonce '${nonce}' must be a run id`);
  const f = fileVar(remoteDir, provisioner);
  const cached = hashOk('"$f"', provisioner.fileSha256);
  const vars = `${f}; p="$f.${nonce}"`;
  const frame = (index: number, total: number): [string, string] => [
    `${vars}; if ${cached}; then echo ${CACHED}; else mkdir -p "\${f%/*}" && printf %s '`,
    `' > "$p.${partName(index)}" && echo ${UPLOAD_PART}:${index}/${total}; fi`,
  ];
  const data = gzipSync(provisioner.content, { level: 9 }).toString('base64');
  // Sized with the widest numbers a plan can have, so no part can overflow.
  const [widestPrefix, widestSuffix] = frame(MAX_PARTS, MAX_PARTS);
  const room = maxChars - oneLine(`${widestPrefix}${widestSuffix}`).length;
  if (room < MIN_CHUNK) throw new UploadRoomError(`needs at least ${maxChars - room + MIN_CHUNK} characters per command`);
  const total = Math.ceil(data.length / room);
  if (total > MAX_PARTS) throw new UploadRoomError(`would need ${total} upload steps (at most ${MAX_PARTS})`);
  const parts: string[] = [];
  for (let index = 1; index <= total; index += 1) {
    const [prefix, suffix] = frame(index, total);
    parts.push(oneLine(`${prefix}${data.slice((index - 1) * room, index * room)}${suffix}`));
  }

  const at = numbers(total);
  const uploadRange = `steps ${at.firstPart}-${at.verify}`;
  const check = oneLine(
    `${f}; if ${cached}; then echo ${CACHED}; echo 'linus: cached: skip ${uploadRange} and go on with step ${at.next}'; ` +
      `else echo ${UPLOAD_NEEDED}; echo 'linus: run ${uploadRange} (upload), then step ${at.next}'; fi`,
  );
  const verify = oneLine(
    `${vars}; ok() { ${hashOk('"$1"', provisioner.fileSha256)}; }; if ok "$f"; then echo ${CACHED}; exit 0; fi; ` +
      `set -- "$p".${'[0-9]'.repeat(PART_DIGITS)}; if [ "$#" -eq ${total} ] && [ -e "$1" ]; then ` +
      `cat "$@" | base64 -d | gzip -dc > "$p.sh" 2>/dev/null; ` +
      `if ok "$p.sh" && chmod 0644 "$p.sh" && mv -f "$p.sh" "$f"; then rm -f "$@"; echo ${UPLOADED}; exit 0; fi; ` +
      `rm -f "$p.sh"; echo '${UPLOAD_FAILED}:the parts do not add up to the provisioner'; else echo "${UPLOAD_FAILED}:found $# of ${total} parts"; fi; ` +
      `echo 'linus: run steps ${at.firstPart}-${at.verify - 1} again, then step ${at.verify}; if it fails again, stop: UPLOAD_FAILED'; exit 24`,
  );
  return { check, parts, verify };
}
