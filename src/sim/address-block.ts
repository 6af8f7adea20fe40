import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Every simulated host puts its guests, foreign machines and derived VLANs in a loopback /16 of
// its own, 127.<block>.0.0/16, so that hosts running at once (parallel tests, a sandbox, another
// checkout's suite) never bind the same address. A block is leased by a file naming the host's
// root in one directory shared by every process of the machine.

export const FIRST_BLOCK = 1;
export const LAST_BLOCK = 254;
// A lease whose host still exists is taken back only when every block is leased and it has not
// been renewed for this long (a host laid out and never disposed).
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export function leaseDir(): string {
  return path.join(os.tmpdir(), 'linus-sim-address-blocks');
}

export function leaseFile(block: number): string {
  return path.join(leaseDir(), String(block));
}

function leaseHolder(block: number): string | undefined {
  try {
    return fs.readFileSync(leaseFile(block), 'utf8').trim();
  } catch {
    return undefined;
  }
}

// A lease is stale when its host's root is gone, or was laid out again on another block, or never
// got its host.json (a lease is taken just before the host is laid out).
function leaseIsStale(block: number, holder: string): boolean {
  if (!fs.existsSync(holder)) return true;
  try {
    const settings = JSON.parse(fs.readFileSync(path.join(holder, 'sim', 'host.json'), 'utf8')) as { addressBlock?: unknown };
    return settings.addressBlock !== block;
  } catch {
    return Date.now() - fs.statSync(leaseFile(block)).mtimeMs > 60_000;
  }
}

function tryLease(block: number, root: string): boolean {
  try {
    fs.writeFileSync(leaseFile(block), `${root}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

// Serialises reservations across processes: mkdir is atomic; a lock older than 10 s was left by
// a process that died holding it.
function withReservationLock<T>(action: () => T): T {
  const lock = path.join(leaseDir(), '.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 10_000) fs.rmdirSync(lock);
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline) throw new Error(`simulator: could not take ${lock} within 10 s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return action();
  } finally {
    fs.rmdirSync(lock);
  }
}

// Leases a block for the host at <root>: <preferred> (the block its host.json already names) when
// that is free or already this root's, else the lowest free one.
export function reserveAddressBlock(root: string, preferred?: number): number {
  // The root exists before its lease does, or another process would find the lease stale.
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(leaseDir(), { recursive: true });
  return withReservationLock(() => {
    const blocks = Array.from({ length: LAST_BLOCK - FIRST_BLOCK + 1 }, (_, index) => FIRST_BLOCK + index);
    const order = preferred === undefined ? blocks : [preferred, ...blocks.filter((block) => block !== preferred)];
    const renew = (block: number) => (fs.utimesSync(leaseFile(block), new Date(), new Date()), block);
    if (preferred !== undefined && leaseHolder(preferred) === root) return renew(preferred);
    for (const block of order) {
      if (tryLease(block, root)) return block;
      const holder = leaseHolder(block);
      if (holder !== undefined && holder !== root && leaseIsStale(block, holder)) {
        fs.writeFileSync(leaseFile(block), `${root}\n`);
        return block;
      }
    }
    const abandoned = order
      .map((block) => ({ block, mtime: fs.statSync(leaseFile(block)).mtimeMs }))
      .filter((lease) => Date.now() - lease.mtime > ABANDONED_AFTER_MS)
      .sort((a, b) => a.mtime - b.mtime)[0];
    if (abandoned === undefined) throw new Error(`simulator: every loopback block 127.${FIRST_BLOCK}-${LAST_BLOCK}.0.0/16 is leased by a running simulated host (${leaseDir()})`);
    fs.writeFileSync(leaseFile(abandoned.block), `${root}\n`);
    return abandoned.block;
  });
}

export function releaseAddressBlock(root: string, block: number): void {
  if (!fs.existsSync(leaseDir())) return;
  withReservationLock(() => {
    if (leaseHolder(block) === root) fs.rmSync(leaseFile(block), { force: true });
  });
}
