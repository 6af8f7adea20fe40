import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinusError } from '../protocol/errors.js';

// Where a simulated host keeps its state, mirroring the real host's paths under one root.
export function simPaths(root: string) {
  const abs = path.resolve(root);
  return {
    root: abs,
    bin: path.join(abs, 'bin'),
    // With missingTools: links to the commands of root's PATH, less the missing ones.
    usrBin: path.join(abs, 'usr', 'bin'),
    // One login shell per node: it runs a command as on that node (tools on PATH, node name set).
    hostShell: (node: string) => path.join(abs, 'sim', `host-shell-${node}`),
    pve: path.join(abs, 'etc', 'pve'),
    storageCfg: path.join(abs, 'etc', 'pve', 'storage.cfg'),
    datacenterCfg: path.join(abs, 'etc', 'pve', 'datacenter.cfg'),
    qemuServerDir: (node: string) => path.join(abs, 'etc', 'pve', 'nodes', node, 'qemu-server'),
    vmConfig: (node: string, vmid: number) => path.join(abs, 'etc', 'pve', 'nodes', node, 'qemu-server', `${vmid}.conf`),
    lockDir: path.join(abs, 'var', 'lock', 'qemu-server'),
    vmLock: (vmid: number) => path.join(abs, 'var', 'lock', 'qemu-server', `lock-${vmid}.conf`),
    runDir: path.join(abs, 'var', 'run', 'qemu-server'),
    neighTable: path.join(abs, 'proc', 'net', 'arp'),
    remoteDir: path.join(abs, 'var', 'lib', 'linus'),
    home: path.join(abs, 'root'),
    sim: path.join(abs, 'sim'),
    hostJson: path.join(abs, 'sim', 'host.json'),
    faultsJson: path.join(abs, 'sim', 'faults.json'),
    callLog: path.join(abs, 'sim', 'calls.jsonl'),
    // The tool server every tool call goes to (src/sim/tools/server.ts): its socket, pid and log,
    // and the lock its clients take to start one.
    toolSocket: path.join(abs, 'sim', 'tools.sock'),
    toolServerPid: path.join(abs, 'sim', 'tool-server.pid'),
    toolServerLock: path.join(abs, 'sim', 'tool-server.lock'),
    toolServerLog: path.join(abs, 'sim', 'tool-server.log'),
    volumesDir: path.join(abs, 'sim', 'volumes'),
    guestsDir: path.join(abs, 'sim', 'guests'),
    leasesJson: path.join(abs, 'sim', 'leases.json'),
    clusterLock: path.join(abs, 'sim', 'cluster.lock'),
  };
}

export type SimPaths = ReturnType<typeof simPaths>;

// sshd's PATH for root on Debian (SUPERUSER_PATH); the host shell puts the sim tools first.
export const ROOT_PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'] as const;

// The environment every command on the simulated host runs with (embedded SSH, sshd, tests).
export const SIM_ENV = {
  root: 'LINUS_SIM_ROOT',
  node: 'LINUS_SIM_NODE',
  neighTable: 'LINUS_NEIGH_TABLE',
} as const;

// A compiled simulator program (`dist/src/sim/<file>`): bash and spawned daemons run it with node,
// so it must be JavaScript even when the caller runs from TypeScript sources (vitest).
export function compiledSimFile(file: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const entry = path.join(dir, 'dist', 'src', 'sim', file);
  if (!fs.existsSync(entry)) {
    throw new LinusError({ code: 'SANDBOX_FAILED', message: `the simulated host is not built (${entry} is missing)`, remediation: "Run 'npm run build' (npm ci runs it for you)." });
  }
  return entry;
}
