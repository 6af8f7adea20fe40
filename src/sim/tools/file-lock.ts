import fs from 'node:fs';
import { lockOwner, processAlive, sleep } from './caller.js';
import { PveDie } from './die.js';

export interface LockOptions {
  timeoutMs: number;
  // The path a real host would name in its messages (/var/lock/qemu-server/lock-100.conf).
  shownPath: string;
  err(text: string): void;
  // Fault injection: behave as if another process held the lock for the whole timeout.
  heldElsewhere?: boolean;
}

// The pid in a lock file; undefined once it is gone (released meanwhile).
function holderPid(file: string): number | undefined {
  try {
    return Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

// Whether the lock in <file> is held: its holder's pid is alive (an flock dies with its holder).
export function holderAlive(file: string): boolean {
  const pid = holderPid(file);
  if (pid === undefined) return false;
  return !Number.isInteger(pid) || pid <= 0 || processAlive(pid);
}

function tryAcquire(file: string, owner: number): boolean {
  // A dead holder's file is removed and the lock taken at once: a flock dies with its holder, so
  // a real host would not wait (or say `trying to acquire lock...`) for it.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(file, `${owner}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (holderAlive(file)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

// Tools.pm `lock_file_full`: an exclusive lock across processes (an O_EXCL file holding the
// owner's pid, since node has no flock), with the same stderr chatter and timeout message.
export async function withFileLock<T>(file: string, options: LockOptions, fn: () => Promise<T> | T): Promise<T> {
  if (options.heldElsewhere) {
    options.err('trying to acquire lock...\n');
    await sleep(options.timeoutMs);
    throw new PveDie(`can't lock file '${options.shownPath}' - got timeout`);
  }
  const owner = lockOwner();
  if (!tryAcquire(file, owner)) {
    options.err('trying to acquire lock...\n');
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      await sleep(15);
      if (tryAcquire(file, owner)) break;
      if (Date.now() >= deadline) throw new PveDie(`can't lock file '${options.shownPath}' - got timeout`);
    }
    options.err(' OK\n');
  }
  try {
    return await fn();
  } finally {
    // A holder that died was replaced at once: its successor's file stays.
    if (holderPid(file) === owner) fs.rmSync(file, { force: true });
  }
}
