import { describe, expect, it } from 'vitest';
import { connectionPool, MAX_BORROWERS } from '../../../src/host/pool.js';
import { LinusError } from '../../../src/protocol/errors.js';
import type { Connection, SshTarget } from '../../../src/ssh/connection.js';

const target: SshTarget = { host: 'pve.lan', port: 22, user: 'root', knownHostsFiles: [] };

// Connections as the pool sees them: each can be dropped (its `closed` resolves).
function fakeHost() {
  const opened: Array<{ drop: () => void; closedByPool: boolean }> = [];
  const open = async (): Promise<Connection> => {
    let drop = () => undefined as void;
    const closed = new Promise<void>((resolve) => (drop = resolve));
    const record = { drop, closedByPool: false };
    opened.push(record);
    return {
      exec: async () => ({ code: 0, stdout: '', stderr: '' }),
      hostKeyFingerprint: 'SHA256:x',
      closed,
      close: async () => {
        record.closedByPool = true;
        drop();
      },
    };
  };
  return { opened, open };
}

describe('linus mcp connection pool', () => {
  it(`shares one connection among up to ${MAX_BORROWERS} calls at once, opens another for more, and reuses a returned one`, async () => {
    const host = fakeHost();
    const pool = connectionPool(host.open);
    const borrowed = await Promise.all(Array.from({ length: MAX_BORROWERS + 1 }, () => pool.connect(target)));
    expect(host.opened).toHaveLength(2);
    await borrowed[0]?.close();
    await borrowed[0]?.close();
    await pool.connect(target);
    expect(host.opened).toHaveLength(2);
    await pool.connect(target);
    expect(host.opened).toHaveLength(2);
    await pool.close();
    expect(host.opened.every((connection) => connection.closedByPool)).toBe(true);
  });

  it('opens connections ahead for the callers to come, and hands them out before opening more', async () => {
    const host = fakeHost();
    const pool = connectionPool(host.open);
    const first = await pool.connect(target);
    pool.warm(target, 2 * MAX_BORROWERS + 1);
    expect(host.opened).toHaveLength(3);
    pool.warm(target, 2 * MAX_BORROWERS + 1);
    expect(host.opened).toHaveLength(3);
    await first.close();
    await Promise.all(Array.from({ length: 2 * MAX_BORROWERS + 1 }, () => pool.connect(target)));
    expect(host.opened).toHaveLength(3);
    await pool.close();
    expect(host.opened.every((connection) => connection.closedByPool)).toBe(true);
  });

  it('forgets a connection a call found broken, before its close event: the next call opens a new one', async () => {
    const host = fakeHost();
    const pool = connectionPool(async () => {
      const connection = await host.open();
      return { ...connection, exec: async () => Promise.reject(new LinusError({ code: 'CONNECTION_FAILED', message: 'the connection to pve.lan:22 was closed' })) };
    });
    await expect((await pool.connect(target)).exec('true')).rejects.toThrow(/was closed/);
    await pool.connect(target);
    expect(host.opened).toHaveLength(2);
  });

  it('forgets a dropped connection: the next call opens a new one', async () => {
    const host = fakeHost();
    const pool = connectionPool(host.open);
    await (await pool.connect(target)).close();
    host.opened[0]?.drop();
    await new Promise((resolve) => setImmediate(resolve));
    await pool.connect(target);
    expect(host.opened).toHaveLength(2);
  });
});
