import fs from 'node:fs';
import { PveDie } from './die.js';
import { sleep } from './context.js';

export interface LockOptions {
  timeoutMs: number;
  // The path a real host would name in its messages (/var/lock/qemu-server/lock-100.conf).
  shownPath: string;
  err(text: string): void;
  // Fault injection: behave as if another process held the lock for the whole timeout.
  heldElsewhere?: boolean;
}

// Whether the lock in <file> is held: its holder's pid is alive (an flock dies with its holder,
// so a zombie waiting to be reaped holds nothing).
export function holderAlive(file: string): boolean {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) return true;
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOENT: released meanwhile; EPERM: alive but not ours.
    return code === 'EPERM';
  }
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function tryAcquire(file: string): boolean {
  // A dead holder's file is removed and the lock taken at once: a flock dies with its holder, so
  // a real host would not wait (or say `trying to acquire lock...`) for it.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (holderAlive(file)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

// Tools.pm `lock_file_full`: an exclusive lock across processes (an O_EXCL file holding the pid,
// since node has no flock), with the same stderr chatter and timeout message.
export async function withFileLock<T>(file: string, options: LockOptions, fn: () => Promise<T> | T): Promise<T> {
  if (options.heldElsewhere) {
    options.err('trying to acquire lock...\n');
    await sleep(options.timeoutMs);
    throw new PveDie(`can't lock file '${options.shownPath}' - got timeout`);
  }
  if (!tryAcquire(file)) {
    options.err('trying to acquire lock...\n');
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      await sleep(15);
      if (tryAcquire(file)) break;
      if (Date.now() >= deadline) throw new PveDie(`can't lock file '${options.shownPath}' - got timeout`);
    }
    options.err(' OK\n');
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
