import { shellJoin, shellQuote } from '../util/shell-quote.js';

export interface ProvisionerFile {
  name: string;
  version: string;
  fileSha256: string;
  content: Buffer;
}

// Printed by the cached-run command when this exact provisioner is not on the host yet.
export const UPLOAD_NEEDED = 'LINUS_UPLOAD_NEEDED';
export const UPLOAD_FAILED = 'LINUS_UPLOAD_FAILED';

export function remotePath(remoteDir: string, provisioner: ProvisionerFile): string {
  return `${remoteDir}/provisioners/${provisioner.name}-${provisioner.version}-${provisioner.fileSha256.slice(0, 12)}.sh`;
}

const hashCheck = (file: string, sha256: string) => `[ "$(sha256sum ${file} 2>/dev/null | cut -c1-64)" = ${sha256} ]`;

// Runs the cached provisioner if its content hash matches; otherwise says an upload is needed.
export function cachedRunCommand(remoteDir: string, provisioner: ProvisionerFile, args: readonly string[]): string {
  const file = shellQuote(remotePath(remoteDir, provisioner));
  return `f=${file}; if ${hashCheck('"$f"', provisioner.fileSha256)}; then exec bash "$f" ${shellJoin(args)} 2>&1; fi; echo ${UPLOAD_NEEDED}`;
}

// Splits the provisioner into base64 chunks so that every command stays under maxCommandChars,
// then verifies the sha256 and renames into place atomically; `then` runs after the rename.
export function uploadCommands(remoteDir: string, provisioner: ProvisionerFile, maxCommandChars: number, then?: readonly string[]): string[] {
  const target = shellQuote(remotePath(remoteDir, provisioner));
  // A per-upload temp name keeps concurrent uploaders of the same version apart.
  const vars = `f=${target}; t="$f.${Math.random().toString(36).slice(2, 10)}.part";`;
  const finishBody =
    `base64 -d "$t.b64" > "$t" && rm -f "$t.b64" && ${hashCheck('"$t"', provisioner.fileSha256)} && chmod 0644 "$t" && mv -f "$t" "$f"` +
    ` || { rm -f "$t" "$t.b64"; echo ${UPLOAD_FAILED}; exit 1; }` +
    (then ? `; exec bash "$f" ${shellJoin(then)} 2>&1` : '');
  const finish = `${vars} ${finishBody}`;
  if (finish.length > maxCommandChars) throw new Error(`a command limit of ${maxCommandChars} characters is too small for the verify step`);
  const data = provisioner.content.toString('base64');
  const frame = (first: boolean) =>
    first ? [`${vars} mkdir -p "\${f%/*}" && printf %s '`, `' > "$t.b64"`] : [`${vars} printf %s '`, `' >> "$t.b64"`];
  const commands: string[] = [];
  let offset = 0;
  while (offset < data.length || commands.length === 0) {
    const [prefix, suffix] = frame(commands.length === 0) as [string, string];
    const room = maxCommandChars - prefix.length - suffix.length;
    if (room < 64) throw new Error(`a command limit of ${maxCommandChars} characters is too small to upload anything`);
    const chunk = data.slice(offset, offset + room);
    offset += chunk.length;
    const command = `${prefix}${chunk}${suffix}`;
    // The last chunk carries the finishing step too when it fits.
    const fused = `${command} && ${finishBody}`;
    if (offset >= data.length && fused.length <= maxCommandChars) {
      commands.push(fused);
      return commands;
    }
    commands.push(command);
  }
  commands.push(finish);
  return commands;
}
