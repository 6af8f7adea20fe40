import { defaultConnect, type Connect } from './run.js';
import { toLinusError } from '../protocol/errors.js';
import type { Connection, SshTarget } from '../ssh/connection.js';

// SSH connections per endpoint, shared by the calls of an MCP server or the jobs of one
// provision: a caller borrows one (its close() gives it back), a dropped one is forgotten and the
// next caller opens a new one. OpenSSH refuses an 11th session on one connection (MaxSessions
// 10), and a provision may hold two channels at once (its run, and a cancel beside it), so a
// connection carries at most MAX_BORROWERS callers; more at once get a further connection.
export const MAX_BORROWERS = 4;

export interface ConnectionPool {
  connect: Connect;
  // Opens connections to <target> ahead, until it has enough for <callers> at once: their
  // handshakes overlap work that comes before the calls (a provision's placement).
  warm(target: SshTarget, callers: number): void;
  // Closes every open connection (the server is done).
  close(): Promise<void>;
}

interface Slot {
  pending: Promise<Connection>;
  borrowers: number;
}

const endpoint = (target: SshTarget) => `${target.user}@${target.host}:${target.port}`;

export function connectionPool(open: Connect = defaultConnect): ConnectionPool {
  const live = new Map<string, Slot[]>();
  const forget = (key: string, slot: Slot) => {
    const slots = live.get(key) ?? [];
    if (slots.includes(slot)) slots.splice(slots.indexOf(slot), 1);
  };
  const slotsOf = (target: SshTarget) => {
    const slots = live.get(endpoint(target)) ?? [];
    live.set(endpoint(target), slots);
    return slots;
  };
  const openSlot = (target: SshTarget): Slot => {
    const key = endpoint(target);
    const opening = open(target);
    const fresh: Slot = { pending: opening, borrowers: 0 };
    slotsOf(target).push(fresh);
    opening.then(
      (connection) => void connection.closed.then(() => forget(key, fresh)),
      () => forget(key, fresh),
    );
    return fresh;
  };
  const connect: Connect = async (target) => {
    const key = endpoint(target);
    const slot = slotsOf(target).find((candidate) => candidate.borrowers < MAX_BORROWERS) ?? openSlot(target);
    slot.borrowers += 1;
    let connection: Connection;
    try {
      connection = await slot.pending;
    } catch (error) {
      slot.borrowers -= 1;
      throw error;
    }
    let returned = false;
    const borrowed = slot;
    return {
      // A connection that failed under a call is not handed out again, even before its close
      // event arrives.
      exec: async (command, options) => {
        try {
          return await connection.exec(command, options);
        } catch (error) {
          if (toLinusError(error).code === 'CONNECTION_FAILED') forget(key, borrowed);
          throw error;
        }
      },
      hostKeyFingerprint: connection.hostKeyFingerprint,
      closed: connection.closed,
      close: async () => {
        if (!returned) borrowed.borrowers -= 1;
        returned = true;
      },
    };
  };
  return {
    connect,
    warm: (target, callers) => {
      while (slotsOf(target).length * MAX_BORROWERS < callers) openSlot(target).pending.catch(() => undefined);
    },
    close: async () => {
      const open = [...live.values()].flat();
      live.clear();
      await Promise.all(open.map(async (slot) => (await slot.pending.catch(() => undefined))?.close().catch(() => undefined)));
    },
  };
}
