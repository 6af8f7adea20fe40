import fs from 'node:fs';
import { simPaths } from '../paths.js';
import { runningGuestCount } from '../guest-runtime.js';
import { serveHost } from './serve.js';

// The tool server of one simulated host: `node server.js <root>`, started by the first tool call
// (client.ts) in <root>/sim. It stops on SIGTERM (SimHost.dispose), when its socket goes (the
// root was removed), or after IDLE_MS without a connection and without a running guest (the
// guests it started run in it, guest-runtime.ts, and end with it).
const IDLE_MS = 5 * 60_000;

const root = process.argv[2];
if (root === undefined) throw new Error('usage: server.js <root>');
const paths = simPaths(root);
let idleTimer: NodeJS.Timeout | undefined;

function stop(): void {
  // Only this server's socket and pid file: a successor may already have replaced them.
  if (listener.ours()) fs.rmSync(paths.toolSocket, { force: true });
  try {
    if (fs.readFileSync(paths.toolServerPid, 'utf8').trim() === String(process.pid)) fs.rmSync(paths.toolServerPid, { force: true });
  } catch {
    // Gone with the root.
  }
  process.exit(0);
}

function stopIdle(): void {
  if (runningGuestCount() === 0) stop();
  else idleTimer = setTimeout(stopIdle, IDLE_MS);
}

// The client that started us holds sim/tool-server.lock and found no server answering: a socket
// file left there is a dead server's.
const listener = await serveHost(paths, {
  onIdle(idle) {
    clearTimeout(idleTimer);
    idleTimer = idle ? setTimeout(stopIdle, IDLE_MS) : undefined;
  },
  onGone: stop,
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
fs.writeFileSync(paths.toolServerPid, `${process.pid}\n`);
