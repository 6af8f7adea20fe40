import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { SimPaths } from '../paths.js';
import { runForCaller, type Caller } from './caller.js';
import { FRAME } from './client.js';
import { runTool, type ToolCall } from './run.js';

// Serves the tool calls of one simulated host on its socket, <root>/sim/tools.sock: every call
// runs as an async task for its client process, which stands in for the call's own process
// (caller.ts). Calls carry their host in their environment (context.ts), so one process may serve
// several hosts: the tool server of one host (server.ts) or a test run's layout server.
const WATCH_MS = 500;

export interface ServeOptions {
  // Told when the last open call ends (true) and when one opens (false).
  onIdle?(idle: boolean): void;
  // Called once the socket is gone or replaced (the root was removed, or a successor took over).
  onGone(): void;
}

export interface HostListener {
  // Whether <root>/sim/tools.sock is still this listener's.
  ours(): boolean;
  close(): void;
}

interface Request extends ToolCall {
  pid: number;
  cwd: string;
}

// <pid> NUL <cwd> NUL <tool> NUL <argc> NUL <arg>... NUL <NAME=value>...
function parseRequest(body: Buffer): Request {
  const fields = body.toString('utf8').split('\0');
  const [pid, cwd, tool, argc] = fields;
  const count = Number(argc);
  if (!Number.isInteger(count) || fields.length < 4 + count) throw new Error('malformed request');
  const env: Record<string, string> = {};
  for (const entry of fields.slice(4 + count)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { pid: Number(pid), cwd: cwd as string, tool: tool as string, args: fields.slice(4, 4 + count), env };
}

function frame(type: string, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

async function serveCall(socket: net.Socket, request: Request): Promise<void> {
  const send = (type: string) => (text: string) => {
    if (!socket.destroyed) socket.write(frame(type, text));
  };
  const caller: Caller = { pid: request.pid, hungUp: socket.destroyed, kill: () => send(FRAME.kill)('') };
  socket.on('close', () => {
    caller.hungUp = true;
  });
  send(FRAME.accepted)('');
  let exitCode: number;
  try {
    exitCode = await runForCaller(caller, () => runTool(request, { cwd: request.cwd, out: send(FRAME.stdout), err: send(FRAME.stderr) }));
  } catch (error) {
    // Writing the call log failed (the root went away): this call fails, the server goes on.
    send(FRAME.stderr)(`linus-sim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    exitCode = 70;
  }
  if (!socket.destroyed) socket.end(frame(FRAME.exit, String(exitCode)));
}

// Listens on the host's socket, replacing a socket file left there (the caller knows no live
// server holds it).
export async function serveHost(paths: SimPaths, opts: ServeOptions): Promise<HostListener> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    opts.onIdle?.(false);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connections.delete(socket);
      if (connections.size === 0) opts.onIdle?.(true);
    });
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 4 || buffer.length < 4 + buffer.readUInt32BE(0)) return;
      socket.off('data', onData);
      let request: Request;
      try {
        request = parseRequest(buffer.subarray(4, 4 + buffer.readUInt32BE(0)));
      } catch {
        socket.destroy();
        return;
      }
      void serveCall(socket, request);
    };
    socket.on('data', onData);
  });
  fs.rmSync(paths.toolSocket, { force: true });
  // Bound by a name relative to <root>/sim, as clients connect: a long root must not exceed a
  // socket path's 108 bytes. A pipe's bind happens within listen(), so the directory change is brief.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const cwd = process.cwd();
    process.chdir(paths.sim);
    try {
      server.listen(path.basename(paths.toolSocket), () => resolve());
    } finally {
      process.chdir(cwd);
    }
  });
  const inode = fs.statSync(paths.toolSocket).ino;
  const ours = (): boolean => {
    try {
      return fs.statSync(paths.toolSocket).ino === inode;
    } catch {
      return false;
    }
  };
  const watch = setInterval(() => {
    if (ours()) return;
    listener.close();
    opts.onGone();
  }, WATCH_MS);
  const listener: HostListener = {
    ours,
    close() {
      clearInterval(watch);
      server.close();
    },
  };
  opts.onIdle?.(true);
  return listener;
}
