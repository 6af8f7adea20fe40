import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';

// The tool server runs every call in-process for a client process (the `qm` the caller started).
// That client stands in for the call's own process: it owns the call's locks, and when it dies
// (SIGKILL, SIGTERM, its process group killed) the call dies with it.
export interface Caller {
  pid: number;
  // Set when the client's connection closed before the call ended.
  hungUp: boolean;
  // Makes the client SIGKILL itself after relaying the output written so far.
  kill(): void;
}

const current = new AsyncLocalStorage<Caller>();

export function runForCaller<T>(caller: Caller, fn: () => Promise<T>): Promise<T> {
  return current.run(caller, fn);
}

// Runs <fn> as no call's: what it starts (a guest) outlives the call that started it.
export function outsideCalls<T>(fn: () => T): T {
  return current.exit(fn);
}

// A live process: signal 0 reaches it (EPERM: alive, not ours) and it is not a zombie waiting
// for its reaper, which holds nothing (an flock dies with its holder).
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// The pid a lock taken now belongs to: the caller's client inside a call, else this process
// (a guest editing the neighbour table).
export function lockOwner(): number {
  return current.getStore()?.pid ?? process.pid;
}

function callerGone(caller: Caller): boolean {
  return caller.hungUp || !processAlive(caller.pid);
}

// Every wait of a call goes through here: once its caller is gone the wait never ends, so the
// call stops where it waits and leaves what it did so far, as a killed process does (no finally
// block runs, no lock is released: a dead holder's lock is free anyway).
export function survive<T>(promise: Promise<T>): Promise<T> {
  const caller = current.getStore();
  if (!caller) return promise;
  const never = new Promise<T>(() => undefined);
  return promise.then(
    (value) => (callerGone(caller) ? never : value),
    (error: unknown) => (callerGone(caller) ? never : Promise.reject(error)),
  );
}

export function sleep(ms: number): Promise<void> {
  return survive(new Promise((resolve) => setTimeout(resolve, ms)));
}

// SIGKILL for the call: its client dies (the shell sees 137) once it has relayed what the call
// wrote, as a killed tool's output is in its pipe already, and the call never goes on.
export function killCaller(): Promise<never> {
  const caller = current.getStore();
  if (caller) caller.kill();
  else process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => undefined);
}
