import { fleetTag } from '../config/fleet-file.js';
import { matches } from '../config/rules.js';
import { parseRecordedSpec } from '../config/recorded-spec.js';
import { configSchema, parseData, type ListRow } from '../protocol/data.js';
import { LinusError } from '../protocol/errors.js';
import type { RunRecord } from '../protocol/records.js';
import { opOutcome } from '../protocol/transcript.js';
import { opArgs } from '../provisioners/args.js';
import { loadProvisioner } from '../provisioners/bundle.js';
import type { Connection, SshTarget } from '../ssh/connection.js';
import { sshForNode, type NodeAddress } from './nodes.js';
import { defaultConnect, runHostScript, type Connect, type HostStats } from './run.js';
import { readRuns } from './runs.js';

// Where a VM can be reached and as whom, for `linus ssh`, `--if-exists reuse` and inventories:
// here in host/ because jobs/ and ops/ both need it (they never import each other).

// What it needs of the target; the ops-side OpsDeps fits.
export interface VmAddressDeps {
  ssh: SshTarget;
  connect?: Connect;
  remoteDir: string;
  nodeAddresses: Record<string, NodeAddress>;
}

export interface VmAddressOptions {
  // The user the caller was given (--vm-user): it wins over any record.
  user?: string;
  // The run records, when the caller has read them already (one read for many VMs).
  runs?: readonly RunRecord[];
  // The VM's config (`vm.sh config` view: description decoded), when the caller has read it already.
  config?: Readonly<Record<string, string>>;
  // Adds what reaching the host cost.
  stats?: HostStats;
}

// Each field undefined when linus does not know it. addressFrom: 'agent' is the guest agent's
// address from the VM list; 'record' is linus' own: the run's record on the host, else the static
// ip= of the spec recorded in the description.
export interface VmAddress {
  address: string | undefined;
  addressFrom: 'agent' | 'record' | undefined;
  user: string | undefined;
}

// The run that made the VM: its `linus-<run id>` tag (the run id rule of rules.ts). A fleet tag
// `linus-fleet-<name>` meets that rule too ("fleet-lab") and sorts first (Proxmox sorts tags,
// pve-guest-common GuestHelpers.pm l.363): passed over.
export function runIdOf(vm: Pick<ListRow, 'tags'>): string | undefined {
  return vm.tags
    .map((tag) => tag.toLowerCase())
    .filter((tag) => !tag.startsWith(fleetTag('')))
    .map((tag) => (tag.startsWith('linus-') ? tag.slice('linus-'.length) : ''))
    .find((id) => matches('runId', id));
}

// From the config: the user and static address of the spec linus recorded in the description,
// else cloud-init's ciuser.
function fromConfig(config: Readonly<Record<string, string>>): { user?: string; address?: string } {
  const recorded = parseRecordedSpec(config.description);
  const user = recorded?.user ?? config.ciuser;
  const address = recorded?.ip.split('/')[0];
  return { ...(user !== undefined && matches('vmUser', user) ? { user } : {}), ...(address !== undefined && matches('ipv4', address) ? { address } : {}) };
}

// The address and user of <vm> (a row of the VM list): the agent's address, else the run's record
// on the host, else the static address of the recorded spec; the user from options.user, the run's
// record, the recorded spec or ciuser. It reads the host (the VM's node, one connection) only for
// what the row and options do not give; a host refusal is thrown as a LinusError.
export async function vmAddress(deps: VmAddressDeps, vm: ListRow, options: VmAddressOptions = {}): Promise<VmAddress> {
  const stats = options.stats ?? { execs: 0, uploads: 0 };
  const remoteDir = deps.remoteDir;
  const runId = runIdOf(vm);
  let address = vm.ip ?? undefined;
  let user = options.user;
  const known = () => address !== undefined && user !== undefined;
  if (known()) return { address, addressFrom: 'agent', user };
  // One connection to the VM's node, opened on first need.
  let connection: Connection | undefined;
  const open = async () => (connection ??= await (deps.connect ?? defaultConnect)(sshForNode(vm.node, undefined, deps.ssh, deps.nodeAddresses)));
  try {
    const runs = options.runs ?? (runId === undefined ? [] : await readRuns(await open(), loadProvisioner('proxmox'), remoteDir, stats));
    const record = runId === undefined ? undefined : runs.find((run) => run.runId === runId && run.vmId === vm.id);
    const recordIp = record?.ip ?? undefined;
    const fromRecord = address === undefined && recordIp !== undefined;
    address ??= recordIp;
    user ??= record?.user ?? undefined;
    let fromDescription = false;
    if (!known()) {
      let config = options.config;
      if (config === undefined) {
        const { transcript, uploaded } = await runHostScript(await open(), loadProvisioner('vm'), [...opArgs.config(vm.id), '--remote-dir', remoteDir], { remoteDir, onExec: () => (stats.execs += 1) });
        if (uploaded) stats.uploads += 1;
        const outcome = opOutcome(transcript);
        if (!outcome.ok) throw new LinusError({ code: outcome.error.code, message: outcome.error.message, remediation: outcome.error.remediation });
        config = parseData(configSchema, outcome.data[0], 'result').view.config;
      }
      const configured = fromConfig(config);
      fromDescription = address === undefined && configured.address !== undefined;
      address ??= configured.address;
      user ??= configured.user;
    }
    const addressFrom = vm.ip !== null ? 'agent' : fromRecord || fromDescription ? 'record' : undefined;
    return { address, addressFrom, user };
  } finally {
    await (connection as Connection | undefined)?.close().catch(() => undefined);
  }
}
