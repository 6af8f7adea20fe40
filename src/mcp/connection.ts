import { defaultConnect, type Connect } from '../host/run.js';
import type { Connection, SshTarget } from '../ssh/connection.js';

// One SSH connection per endpoint, shared by every tool call of the server: a call borrows it
// (its close() gives it back), a dropped one is forgotten and the next call opens a new one.
export interface ConnectionPool {
  connect: Connect;
  // Closes every open connection (the server is done).
  close(): Promise<void>;
}

const endpoint = (target: SshTarget) => `${target.user}@${target.host}:${target.port}`;

export function connectionPool(open: Connect = defaultConnect): ConnectionPool {
  const live = new Map<string, Promise<Connection>>();
  const forget = (key: string, pending: Promise<Connection>) => {
    if (live.get(key) === pending) live.delete(key);
  };
  const connect: Connect = async (target) => {
    const key = endpoint(target);
    let pending = live.get(key);
    if (!pending) {
      const opening = open(target);
      pending = opening;
      live.set(key, opening);
      opening.then(
        (connection) => void connection.closed.then(() => forget(key, opening)),
        () => forget(key, opening),
      );
    }
    const connection = await pending;
    return { exec: connection.exec, hostKeyFingerprint: connection.hostKeyFingerprint, closed: connection.closed, close: async () => undefined };
  };
  return {
    connect,
    close: async () => {
      const open = [...live.values()];
      live.clear();
      await Promise.all(open.map(async (pending) => (await pending.catch(() => undefined))?.close().catch(() => undefined)));
    },
  };
}
