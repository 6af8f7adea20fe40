import net from 'node:net';
import { guestQgaSocket } from '../guest-record.js';
import type { SimPaths } from '../paths.js';
import { survive } from './caller.js';

// A QGA request over the guest's virtio-serial socket: the answer, or undefined if none came in time.
export function agentRequest(paths: SimPaths, vmid: number, execute: string, timeoutMs: number): Promise<{ return?: unknown; error?: { class: string; desc: string } } | undefined> {
  return survive(new Promise((resolve) => {
    const socket = net.createConnection(guestQgaSocket(paths, vmid));
    let buffer = '';
    const finish = (value: { return?: unknown; error?: { class: string; desc: string } } | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('connect', () => socket.write(`${JSON.stringify({ execute })}\n`));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      try {
        finish(JSON.parse(buffer.slice(0, newline)) as { return?: unknown });
      } catch {
        finish(undefined);
      }
    });
  }));
}
