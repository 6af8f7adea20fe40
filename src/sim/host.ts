import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leaseFile, releaseAddressBlock, reserveAddressBlock } from './address-block.js';
import { callRecordSchema, type CallRecord } from './call-log.js';
import { faultsSchema, type Faults, type FaultsInput } from './faults.js';
import { startForeignMachine, stopForeignMachines, type ForeignMachine } from './foreign.js';
import { stopGuest } from './guest-control.js';
import { runningPid } from './guest-record.js';
import { hostSettingsSchema, VERSION_PROFILES, type HostSettings, type HostSettingsInput, type HostSettingsSource } from './settings.js';
import { processAlive } from './tools/caller.js';
import { toolShim } from './tools/client.js';
import { emptyConfig, serializeVmConfig } from './tools/config-format.js';
import { holderAlive } from './tools/file-lock.js';
import { randomMac } from './tools/macs.js';
import { clusterVmlist, readConfig } from './tools/vm-store.js';
import { listVolumes, writeVolumeRecord } from './tools/volumes.js';

export type { CallRecord } from './call-log.js';
export { callRecordSchema } from './call-log.js';
import { ARP_HEADER } from './neighbour.js';
import { compiledSimFile, ROOT_PATH_DIRS, simPaths, SIM_ENV, type SimPaths } from './paths.js';
import { shellQuote } from '../util/shell-quote.js';

export const SIM_TOOLS = ['qm', 'pvesh', 'pvesm', 'pveversion'] as const;

// The compiled tool server: the first tool call on a simulated host starts it.
export function simToolServer(): string {
  return compiledSimFile(path.join('tools', 'server.js'));
}

// storage.cfg of a fresh install (pve-docs pvesm.adoc l.160-177, reference §15.2): no storage
// holds snippets. PVE 8.3 added the `import` content type and later installers list it on `local`.
// A host prepared for linus (`linus doctor --fix`) has `snippets` on `local` as well.
function defaultStorageCfg(settings: HostSettings): string {
  const content = ['iso', ...(settings.version === '8.2' ? [] : ['import']), 'vztmpl', 'backup', ...(settings.prepared ? ['snippets'] : [])];
  return `dir: local
\tpath /var/lib/vz
\tcontent ${content.join(',')}

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images
`;
}

export function hostEnv(paths: SimPaths, node: string): Record<string, string> {
  return {
    [SIM_ENV.root]: paths.root,
    [SIM_ENV.node]: node,
    [SIM_ENV.neighTable]: paths.neighTable,
    HOME: paths.home,
  };
}

// A directory of links to every command on root's PATH (the first of each name) but <missing>.
function linkTools(dir: string, missing: readonly string[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const seen = new Set(missing);
  for (const from of ROOT_PATH_DIRS) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name)) continue;
      const target = path.join(from, name);
      try {
        fs.accessSync(target, fs.constants.X_OK);
        if (!fs.statSync(target).isFile()) continue;
      } catch {
        continue;
      }
      seen.add(name);
      fs.symlinkSync(target, path.join(dir, name));
    }
  }
}

function hostShellScript(paths: SimPaths, node: string, settings: HostSettings): string {
  const env = hostEnv(paths, node);
  if (settings.clockScale < 1) env.LINUS_TIME_SCALE = String(settings.clockScale);
  const exports = Object.entries(env)
    .map(([key, value]) => `export ${key}=${shellQuote(value)}`)
    .join('\n');
  const rest = settings.missingTools.length > 0 ? shellQuote(paths.usrBin) : '"${PATH:-/usr/local/bin:/usr/bin:/bin}"';
  return `#!/bin/bash
# Runs one command as on simulated Proxmox node ${node}: its tools first on PATH.
${exports}
export PATH=${shellQuote(paths.bin)}:${rest}
cd "$HOME" || exit 1
if [[ "\${1:-}" == "-c" ]]; then exec bash -c "\${2:-}"; fi
# Under sshd, the login shell that ran this one has read ~/.bashrc already, as on a real host.
if [[ -n "\${SSH_ORIGINAL_COMMAND:-}" ]]; then exec bash --norc -c "$SSH_ORIGINAL_COMMAND"; fi
exec bash
`;
}

const UNAME_SHIM = `#!/bin/sh
if [ "$*" = "-n" ] && [ -n "\${${SIM_ENV.node}:-}" ]; then echo "\$${SIM_ENV.node}"; exit 0; fi
exec /bin/uname "$@"
`;

function readLaidOutBlock(paths: SimPaths): number | undefined {
  return fs.existsSync(paths.hostJson) ? readSettings(paths).addressBlock : undefined;
}

// Lays out a fresh simulated host under root (idempotent for an existing root: keeps its state).
export function layoutSimHost(root: string, input: HostSettingsInput = {}): { paths: SimPaths; settings: HostSettings } {
  const paths = simPaths(root);
  const addressBlock = reserveAddressBlock(paths.root, input.addressBlock ?? readLaidOutBlock(paths));
  if (input.addressBlock !== undefined && addressBlock !== input.addressBlock) {
    releaseAddressBlock(paths.root, addressBlock);
    throw new Error(`simulator: address block ${input.addressBlock} is leased by another simulated host (${leaseFile(input.addressBlock)}): reserve one with reserveAddressBlock`);
  }
  const settings = hostSettingsSchema.parse({ ...input, addressBlock });
  for (const dir of [paths.bin, paths.sim, paths.lockDir, paths.runDir, path.dirname(paths.neighTable), paths.remoteDir, paths.home, paths.volumesDir, paths.guestsDir]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  for (const node of settings.nodes) fs.mkdirSync(paths.qemuServerDir(node.name), { recursive: true });
  fs.writeFileSync(paths.hostJson, `${JSON.stringify(settings, null, 2)}\n`);
  if (!fs.existsSync(paths.storageCfg)) fs.writeFileSync(paths.storageCfg, defaultStorageCfg(settings));
  fs.mkdirSync(path.join(paths.root, 'var', 'lib', 'vz', 'images'), { recursive: true });
  if (!fs.existsSync(paths.neighTable)) fs.writeFileSync(paths.neighTable, ARP_HEADER);
  const server = simToolServer();
  for (const tool of SIM_TOOLS) fs.writeFileSync(path.join(paths.bin, tool), toolShim(tool, paths, server), { mode: 0o755 });
  if (settings.missingTools.length > 0) linkTools(paths.usrBin, settings.missingTools);
  else fs.rmSync(paths.usrBin, { recursive: true, force: true });
  // A node's host name is its node name (as on Proxmox); the shell scripts read it with `uname -n`.
  fs.writeFileSync(path.join(paths.bin, 'uname'), UNAME_SHIM, { mode: 0o755 });
  for (const node of settings.nodes) {
    fs.writeFileSync(paths.hostShell(node.name), hostShellScript(paths, node.name, settings), { mode: 0o755 });
  }
  return { paths, settings };
}

export function makeSimRoot(prefix = 'linus-sim-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---------------------------------------------------------------------------------------------
// The simulated host as tests, the sandbox and benchmarks drive it.

export interface SimHost {
  root: string;
  paths: SimPaths;
  settings: HostSettings;
  // The first node's name.
  node: string;
  hostShell(node?: string): string;
  env(node?: string): Record<string, string>;
  // Replaces sim/faults.json; `vmlistStale: true` freezes the vmlist nextid and /cluster/resources answer from.
  setFaults(faults: FaultsInput): void;
  clearFaults(): void;
  calls(): CallRecord[];
  clearCalls(): void;
  listVms(): Array<{ vmid: number; node: string; config: Record<string, string>; running: boolean }>;
  vmConfig(vmid: number): Record<string, string> | undefined;
  volumes(): Array<{ volid: string; storage: string; vmid: number; size: number }>;
  // Held flock files (`/var/lock/qemu-server/lock-100.conf`, holder alive) and config locks (`100: create`).
  locks(): string[];
  // A machine that is not a VM holding <ip> on the node's LAN (answers ARP, and SSH unless ssh: false).
  addForeignMachine(machine: { ip: string; mac?: string; ssh?: boolean }): Promise<ForeignMachine>;
  // Stops the tool server, every guest and foreign machine (the host's files stay).
  dispose(): Promise<void>;
  // Ends at once (SIGKILL) every command still running from the host's files: jobs, and commands
  // that came over SSH (a run exiting without dispose; its guests and tool server see the root go).
  killCommands(): void;
}

function readSettings(paths: SimPaths): HostSettings {
  return hostSettingsSchema.parse(JSON.parse(fs.readFileSync(paths.hostJson, 'utf8')));
}

// SIGTERM to the host's tool server, if its pid file names one serving this root; calls in flight
// end with it (their clients exit 70).
async function stopToolServer(paths: SimPaths): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(paths.toolServerPid, 'utf8'), 10);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.includes(simToolServer()) || !cmdline.includes(paths.root)) return;
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

// SIGTERM to the provisioner jobs still running under the host's remote dir (a test that dropped
// its connection leaves one), then a wait for their rollback, which needs the tool server: as the
// bats teardown does, so removing the root never races a job that still writes there.
async function stopJobs(paths: SimPaths): Promise<void> {
  const jobs = path.join(paths.remoteDir, 'jobs');
  if (!fs.existsSync(jobs)) return;
  const pids: number[] = [];
  for (const dir of fs.readdirSync(jobs)) {
    try {
      const pid = Number.parseInt(fs.readFileSync(path.join(jobs, dir, 'pid'), 'utf8'), 10);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes('_job') || !cmdline.some((arg) => arg.startsWith(`${paths.root}/`))) continue;
      process.kill(pid, 'SIGTERM');
      pids.push(pid);
    } catch {
      // No pid file, or the job has ended.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(processAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

// A host that goes away takes along what still runs from its files: a command that arrived over
// SSH just before the end, and a job it launched after stopJobs looked (a powered-off machine).
function killHostCommands(paths: SimPaths): void {
  const prefix = `${paths.root}/`;
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'bash' && argv.some((arg) => arg.startsWith(prefix))) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

export function openSimHost(root: string): SimHost {
  const paths = simPaths(root);
  const settings = readSettings(paths);
  const firstNode = settings.nodes[0]?.name ?? 'pve';
  const vmlist = () => clusterVmlist(paths, settings.nodes.map((entry) => entry.name));
  const host: SimHost = {
    root: paths.root,
    paths,
    settings,
    node: firstNode,
    hostShell: (node = firstNode) => paths.hostShell(node),
    env: (node = firstNode) => hostEnv(paths, node),
    setFaults(input) {
      const { vmlistStale, ...rest } = input;
      const faults: Faults = faultsSchema.parse(vmlistStale ? { ...rest, staleVmids: vmlist().map((entry) => entry.vmid) } : rest);
      fs.writeFileSync(paths.faultsJson, `${JSON.stringify(faults, null, 2)}\n`);
    },
    clearFaults() {
      fs.rmSync(paths.faultsJson, { force: true });
    },
    calls() {
      if (!fs.existsSync(paths.callLog)) return [];
      return fs
        .readFileSync(paths.callLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => callRecordSchema.parse(JSON.parse(line)));
    },
    clearCalls() {
      fs.rmSync(paths.callLog, { force: true });
    },
    listVms() {
      return vmlist().flatMap(({ vmid, node }) => {
        const config = readConfig(paths, node, vmid);
        return config ? [{ vmid, node, config: { ...config.values }, running: runningPid(paths, vmid) !== undefined }] : [];
      });
    },
    vmConfig(vmid) {
      const entry = vmlist().find((candidate) => candidate.vmid === vmid);
      const config = entry ? readConfig(paths, entry.node, vmid) : undefined;
      if (!config) return undefined;
      return config.description === undefined ? { ...config.values } : { ...config.values, description: config.description };
    },
    volumes() {
      return listVolumes(paths).map(({ volid, storage, vmid, size }) => ({ volid, storage, vmid, size }));
    },
    locks() {
      const held = fs.existsSync(paths.lockDir)
        ? fs
            .readdirSync(paths.lockDir)
            .filter((file) => /^lock-\d+\.conf$/.test(file) && holderAlive(path.join(paths.lockDir, file)))
            .map((file) => `/var/lock/qemu-server/${file}`)
        : [];
      const config = host.listVms().flatMap(({ vmid, config: values }) => (values.lock === undefined ? [] : [`${vmid}: ${values.lock}`]));
      return [...held.sort(), ...config];
    },
    addForeignMachine: (machine) => startForeignMachine(paths, machine),
    async dispose() {
      await stopJobs(paths);
      await stopToolServer(paths);
      await stopForeignMachines(paths);
      if (fs.existsSync(paths.runDir)) {
        const vmids = fs
          .readdirSync(paths.runDir)
          .map((file) => /^(\d+)\.pid$/.exec(file)?.[1])
          .filter((vmid): vmid is string => vmid !== undefined);
        await Promise.all(vmids.map((vmid) => stopGuest(paths, Number(vmid))));
      }
      killHostCommands(paths);
      releaseAddressBlock(paths.root, settings.addressBlock);
    },
    killCommands: () => killHostCommands(paths),
  };
  return host;
}

// Stopped, non-linus VMs 100.. with real configs and volumes, written directly (no tool calls).
// Their 1 GiB disks keep 300 of them within the default 500 GiB thin pool.
function seedVms(paths: SimPaths, settings: HostSettings, count: number): void {
  const node = settings.nodes[0]?.name ?? 'pve';
  const bridge = settings.nodes[0]?.bridges[0]?.name ?? 'vmbr0';
  const profile = VERSION_PROFILES[settings.version];
  for (let i = 0; i < count; i += 1) {
    const vmid = 100 + i;
    const size = 1024 ** 3;
    const volname = `vm-${vmid}-disk-0`;
    writeVolumeRecord(paths, { volid: `local-lvm:${volname}`, storage: 'local-lvm', volname, vmid, size, format: 'raw', node });
    const config = emptyConfig();
    Object.assign(config.values, {
      boot: 'order=scsi0;net0',
      cores: '1',
      memory: '2048',
      meta: `creation-qemu=${profile.pveQemu},ctime=${Math.floor(Date.now() / 1000) - 86400}`,
      name: `existing-${vmid}`,
      net0: `virtio=${randomMac()},bridge=${bridge}`,
      ostype: 'l26',
      scsi0: `local-lvm:${volname},size=1G`,
      scsihw: 'virtio-scsi-pci',
      smbios1: `uuid=${crypto.randomUUID()}`,
      vmgenid: crypto.randomUUID(),
    });
    fs.writeFileSync(paths.vmConfig(node, vmid), serializeVmConfig(config));
  }
}

export async function createSimHost(opts: { root?: string; settings?: HostSettingsSource; existingVms?: number } = {}): Promise<SimHost> {
  const root = opts.root ?? makeSimRoot();
  let input = opts.settings ?? {};
  if (typeof input === 'function') {
    const addressBlock = reserveAddressBlock(root, readLaidOutBlock(simPaths(root)));
    input = { ...input(`127.${addressBlock}`), addressBlock };
  }
  const { paths, settings } = layoutSimHost(root, input);
  if (opts.existingVms) seedVms(paths, settings, opts.existingVms);
  return openSimHost(paths.root);
}
