import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { simPaths } from '../paths.js';
import { runForCaller, type Caller } from './caller.js';
import { FRAME } from './client.js';
import { runTool, type ToolCall } from './run.js';

// The tool server of one simulated host: `node server.js <root>`, started by the first tool call
// (client.ts) in <root>/sim. Every call runs here as an async task for its client process, which
// stands in for the call's own process (caller.ts). It stops on SIGTERM (SimHost.dispose), when
// its socket goes (the root was removed), or after IDLE_MS without a connection.
const IDLE_MS = 5 * 60_000;
const WATCH_MS = 500;

const root = process.argv[2];
if (root === undefined) throw new Error('usage: server.js <root>');
const paths = simPaths(root);
// The socket is named relative to <root>/sim: a long root must not exceed a socket path's 108 bytes.
process.chdir(paths.sim);
const SOCKET = path.basename(paths.toolSocket);

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

const connections = new Set<net.Socket>();
let idleTimer: NodeJS.Timeout | undefined;

function setIdle(idle: boolean): void {
  clearTimeout(idleTimer);
  idleTimer = idle ? setTimeout(stop, IDLE_MS) : undefined;
}

function accept(socket: net.Socket): void {
  connections.add(socket);
  setIdle(false);
  socket.on('error', () => undefined);
  socket.on('close', () => {
    connections.delete(socket);
    if (connections.size === 0) setIdle(true);
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
}

const server = net.createServer(accept);
let socketInode: number | undefined;

function socketOurs(): boolean {
  try {
    return fs.statSync(paths.toolSocket).ino === socketInode;
  } catch {
    return false;
  }
}

function stop(): void {
  // Only this server's socket and pid file: a successor may already have replaced them.
  if (socketOurs()) fs.rmSync(paths.toolSocket, { force: true });
  try {
    if (fs.readFileSync(paths.toolServerPid, 'utf8').trim() === String(process.pid)) fs.rmSync(paths.toolServerPid, { force: true });
  } catch {
    // Gone with the root.
  }
  process.exit(0);
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
// The client that started us holds sim/tool-server.lock and found no server answering: a socket
// file left here is a dead server's.
fs.rmSync(SOCKET, { force: true });
server.listen(SOCKET, () => {
  socketInode = fs.statSync(SOCKET).ino;
  fs.writeFileSync(paths.toolServerPid, `${process.pid}\n`);
  setIdle(true);
  setInterval(() => {
    if (!socketOurs()) stop();
  }, WATCH_MS);
});
