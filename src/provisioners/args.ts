import type { CloneSpec } from '../config/clone-spec.js';
import { OS_CATALOG, resolveOs } from '../config/os-images.js';
import type { Target, VmSpec } from '../config/spec.js';

// The argv contract between the driver and the two provisioners: every value was validated by
// zod (config/) and is validated again on the host by the same rules (shell/lib/rules.sh).

type TargetPlace = Pick<Target, 'remoteDir' | 'node' | 'storage' | 'bridge' | 'snippetsStorage'>;

const b64 = (text: string) => Buffer.from(text).toString('base64');

// What a fleet gives a VM it creates: the tag linus-fleet-<fleet>, its own tags, and a note
// after the spec summary in the description.
export interface VmMarks {
  fleet?: string;
  tags?: readonly string[];
  description?: string;
}

// proxmox.sh run: one VM from a cloud image.
// capacity: 'check' the 80/90 % thresholds on the host, 'force' past 90 %, or 'placed' (vm.sh place did).
// keepOnFailure: a failed VM is kept for inspection instead of rolled back.
// placedFacts: what the run's placement read of this node (with capacity 'placed' only).
export function provisionerArgs(target: TargetPlace, spec: VmSpec, sshKeys: string | undefined, dryRun: boolean, capacity: 'check' | 'force' | 'placed' = 'check', keepOnFailure = false, marks: VmMarks = {}, placedFacts?: string): string[] {
  const os = resolveOs(spec.os);
  const args = ['--remote-dir', target.remoteDir, '--node', target.node, '--storage', target.storage, '--bridge', target.bridge];
  args.push('--name', spec.name, '--os', os, '--cores', String(spec.cores), '--memory', String(spec.memory), '--disk', String(spec.disk));
  args.push('--user', spec.vmUser ?? OS_CATALOG[os].user, '--ip', spec.ip, '--timeout', String(spec.timeout));
  if (sshKeys !== undefined) args.push('--ssh-key-b64', b64(sshKeys));
  if (spec.password) args.push('--password');
  if (spec.gateway) args.push('--gateway', spec.gateway);
  if (spec.dns) args.push('--dns', spec.dns.trim().split(/\s+/).join(' '));
  if (spec.searchDomain) args.push('--search-domain', spec.searchDomain);
  if (spec.vlan !== undefined) args.push('--vlan', String(spec.vlan));
  if (spec.imageUrl) args.push('--image-url', spec.imageUrl);
  if (spec.imageSha256) args.push('--image-sha256', spec.imageSha256.toLowerCase());
  args.push('--cpu', spec.cpu);
  if (spec.upgrade) args.push('--upgrade');
  if (target.snippetsStorage) args.push('--snippets-storage', target.snippetsStorage);
  if (capacity !== 'check') args.push('--capacity', capacity);
  if (placedFacts !== undefined) args.push('--placed-facts', placedFacts);
  if (keepOnFailure) args.push('--keep-on-failure');
  if (marks.fleet !== undefined) args.push('--fleet', marks.fleet);
  if (marks.tags !== undefined && marks.tags.length > 0) args.push('--tags', marks.tags.join(';'));
  if (marks.description) args.push('--description', marks.description);
  if (dryRun) args.push('--dry-run');
  return args;
}

// proxmox.sh cleanup and gc.
export function cleanupArgs(runId: string, remoteDir: string): string[] {
  return ['cleanup', runId, '--remote-dir', remoteDir];
}

export function gcArgs(remoteDir: string, olderThanSeconds: number, dryRun: boolean): string[] {
  return ['gc', '--remote-dir', remoteDir, '--older-than', String(olderThanSeconds), ...(dryRun ? ['--dry-run'] : [])];
}

// proxmox.sh runs: every job under the remote dir.
export function runsArgs(remoteDir: string): string[] {
  return ['runs', '--remote-dir', remoteDir];
}

// A job's own commands (either provisioner): run, wait, cancel.
export function jobRunArgs(runId: string, runArgs: readonly string[]): string[] {
  return ['run', '--run-id', runId, ...runArgs];
}

export function jobWaitArgs(runId: string, remoteDir: string, offset: number, maxSeconds: number): string[] {
  return ['wait', runId, '--remote-dir', remoteDir, '--offset', String(offset), '--max-seconds', String(maxSeconds)];
}

export function jobCancelArgs(runId: string, remoteDir: string): string[] {
  return ['cancel', runId, '--remote-dir', remoteDir];
}

// vm.sh run for a clone (a job like a provision).
export function cloneArgs(spec: CloneSpec, sshKeys: string | undefined, remoteDir: string): string[] {
  const args = ['--template', String(spec.templateId), '--name', spec.name];
  if (spec.linked) args.push('--linked');
  if (spec.vmUser) args.push('--user', spec.vmUser);
  if (sshKeys !== undefined) args.push('--ssh-key-b64', b64(sshKeys));
  if (spec.ip) args.push('--ip', spec.ip);
  if (spec.gateway) args.push('--gateway', spec.gateway);
  if (spec.timeout !== undefined) args.push('--timeout', String(spec.timeout));
  if (spec.force) args.push('--force');
  args.push('--remote-dir', remoteDir);
  return args;
}

export interface PlaceRequest {
  // A node name or 'auto'.
  node: string;
  storage: string;
  bridge: string;
  memoryMiB: number;
  diskGiB: number;
  count: number;
  force: boolean;
  // The run's names: its --name ({n} for the number) and --if-exists reuse (vm.sh place --names).
  names?: { pattern: string; reuse: boolean };
}

// vm.sh place. Auto placement only among the nodes linus reaches: `reachable` lists them.
export function placeArgs(request: PlaceRequest, remoteDir: string, reachable: readonly string[] | undefined): string[] {
  const args = ['place', '--node', request.node, '--storage', request.storage, '--bridge', request.bridge];
  args.push('--memory', String(request.memoryMiB), '--disk', String(request.diskGiB), '--count', String(request.count));
  if (request.force) args.push('--force');
  if (reachable !== undefined) args.push('--reachable', reachable.join(','));
  if (request.names) args.push('--names', request.names.pattern, ...(request.names.reuse ? ['--reuse'] : []));
  args.push('--remote-dir', remoteDir);
  return args;
}

// The other vm.sh operations; runOp appends --remote-dir.
export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';

const foreign = (on: boolean | undefined) => (on ? ['--foreign'] : []);
const timeout = (seconds: number | undefined) => (seconds === undefined ? [] : ['--timeout', String(seconds)]);

export const opArgs = {
  // node: only that node's VMs / use (NODE_NOT_FOUND when the cluster has no such node);
  // configsOf: the VMs carrying this tag also show their config.
  list: (options: { node?: string; configsOf?: string } = {}): string[] => [
    'list',
    ...(options.node === undefined ? [] : ['--node', options.node]),
    ...(options.configsOf === undefined ? [] : ['--configs', options.configsOf]),
  ],
  capacity: (node?: string): string[] => ['capacity', ...(node === undefined ? [] : ['--node', node])],
  status: (id: number): string[] => ['status', String(id)],
  config: (id: number): string[] => ['config', String(id)],
  power: (action: PowerAction, id: number, options: { timeout?: number; force?: boolean; foreign?: boolean }): string[] => [
    'power', action, String(id), ...timeout(options.timeout), ...(options.force ? ['--force'] : []), ...foreign(options.foreign),
  ],
  // Each change as --<key> <value>.
  // keepSummary: a new description goes after the spec summary line, which stays.
  set: (id: number, changes: ReadonlyArray<readonly [string, string | number]>, options: { foreign?: boolean; keepSummary?: boolean }): string[] => [
    'set', String(id), ...changes.flatMap(([key, value]) => [`--${key}`, String(value)]), ...(options.keepSummary ? ['--keep-summary'] : []), ...foreign(options.foreign),
  ],
  resize: (id: number, size: string, options: { disk?: string; foreign?: boolean }): string[] => [
    'resize', String(id), '--size', size, ...(options.disk === undefined ? [] : ['--disk', options.disk]), ...foreign(options.foreign),
  ],
  delete: (id: number, options: { expectName?: string; stop?: boolean; timeout?: number; foreign?: boolean }): string[] => [
    'delete', String(id), '--yes', ...(options.expectName === undefined ? [] : ['--expect-name', options.expectName]), ...(options.stop ? ['--stop'] : []), ...timeout(options.timeout), ...foreign(options.foreign),
  ],
  doctor: (target: Pick<Target, 'node' | 'storage' | 'bridge' | 'snippetsStorage'>, options: { vlan?: number; os?: string }): string[] => [
    'doctor', '--node', target.node, '--storage', target.storage, '--bridge', target.bridge,
    ...(target.snippetsStorage ? ['--snippets-storage', target.snippetsStorage] : []),
    ...(options.vlan === undefined ? [] : ['--vlan', String(options.vlan)]),
    ...(options.os === undefined ? [] : ['--os', resolveOs(options.os)]),
  ],
  doctorFix: (storage: string, content: string): string[] => ['doctor-fix', storage, '--content', content],
  fleetState: (tag: string, names: readonly string[], ids: readonly number[] = []): string[] => [
    'fleet-state', '--tag', tag, ...(names.length > 0 ? ['--names', names.join(',')] : []), ...(ids.length > 0 ? ['--ids', ids.join(',')] : []),
  ],
  adopt: (id: number, fleet: string): string[] => ['adopt', String(id), '--fleet', fleet],
};
