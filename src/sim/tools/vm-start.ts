import { spawnGuest } from '../guest-control.js';
import { runningPid } from '../guest-record.js';
import { bridgeExists, resolveLan, type Lan } from '../lan.js';
import { planGuest } from '../guest-plan.js';
import { leaseFor } from '../leases.js';
import { hasCloudInit, isDriveKey, isEmpty, type VmConfig } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseNet, parsePropertyString } from './property-string.js';
import { detachDrive } from './qm-set.js';
import { checkLock, clusterVmlist, loadConfig, nodeNames, readConfig, writeConfig } from './vm-store.js';

const QEMU_FAILED = 'start failed: QEMU exited with code 1';

// The address the guest takes on net0: ipconfig0's static address (and gw), else a DHCP lease
// with the network's router as gateway where the network has a DHCP server, else none.
async function guestAddress(ctx: ToolContext, values: Record<string, string>, mac: string, lan: Lan, boots: boolean): Promise<{ ip?: string; prefix?: number; gateway?: string }> {
  const ipconfig = values.ipconfig0 === undefined ? { keys: {} as Record<string, string> } : parsePropertyString(values.ipconfig0);
  const ip = ipconfig.keys.ip ?? 'dhcp';
  if (ip === 'manual') return {};
  if (ip !== 'dhcp') {
    const [address, prefix] = ip.split('/');
    return { ip: address, prefix: Number(prefix), ...(ipconfig.keys.gw === undefined ? {} : { gateway: ipconfig.keys.gw }) };
  }
  // A guest that never comes up never asks for a lease.
  if (!lan.dhcp || !boots) return {};
  const ctxMacs = () => new Set(listVmMacs(ctx));
  return { ip: await leaseFor(ctx.paths, mac, lan, ctxMacs), prefix: lan.prefix, ...(lan.gateway === undefined ? {} : { gateway: lan.gateway }) };
}

// Every NIC MAC of every VM in the cluster (lowercase): the leases a DHCP server keeps.
function listVmMacs(ctx: ToolContext): string[] {
  return clusterVmlist(ctx.paths, nodeNames(ctx)).flatMap(({ vmid, node }) => {
    const config = readConfig(ctx.paths, node, vmid);
    return Object.entries(config?.values ?? {})
      .filter(([key]) => /^net\d+$/.test(key))
      .flatMap(([, value]) => parseNet(value)?.mac?.toLowerCase() ?? []);
  });
}

// vm_start_nolock applies what waits in [PENDING] before it builds the guest's command line
// (qemu-server 9.2.6 QemuServer.pm l.5598-5601; vmconfig_apply_pending l.4985: the deletes, a
// drive detached to unusedN, then the values), so a reboot is what makes a pending change current.
function applyPending(ctx: ToolContext, vmid: number, config: VmConfig): void {
  if (isEmpty(config.pending)) return;
  const { delete: deleted = '', ...values } = config.pending.values;
  for (const key of deleted.split(',').filter(Boolean)) {
    const value = config.values[key];
    if (value !== undefined && isDriveKey(key)) detachDrive(ctx, vmid, config, value);
    delete config.values[key];
  }
  Object.assign(config.values, values);
  if (config.pending.description !== undefined) config.description = config.pending.description;
  config.pending = { values: {} };
  writeConfig(ctx, vmid, config);
}

// `vm_start` as a worker (§7): every failure is a task error (exit 255).
export async function startVm(ctx: ToolContext, vmid: number, options: { skiplock?: boolean }): Promise<void> {
  let config;
  try {
    config = loadConfig(ctx, vmid);
  } catch (error) {
    if (error instanceof PveDie) throw new PveDie(error.message, 255);
    throw error;
  }
  if (!options.skiplock && config.values.lock !== 'suspended') checkLock(config);
  if (/^(1|on|yes|true)$/i.test(config.values.template ?? '')) throw new PveDie("you can't start a vm if it's a template");
  if (runningPid(ctx.paths, vmid) !== undefined) throw new PveDie(`VM ${vmid} already running`);
  applyPending(ctx, vmid, config);
  if (hasCloudInit(config)) ctx.out('generating cloud-init ISO\n');

  for (const [key, value] of Object.entries(config.values)) {
    if (!/^net\d+$/.test(key)) continue;
    const bridge = parseNet(value)?.keys.bridge;
    if (bridge !== undefined && !bridgeExists(ctx.settings, ctx.node, bridge)) {
      // The tap script's message, then kvm's (the kvm line is an approximation).
      const index = key.slice(3);
      ctx.out(`bridge '${bridge}' does not exist\n`);
      ctx.out(
        `kvm: -netdev type=tap,id=${key},ifname=tap${vmid}i${index},script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on: network script /usr/libexec/qemu-server/pve-bridge failed with status 512\n`,
      );
      throw new PveDie(QEMU_FAILED);
    }
  }
  const named = config.values.name !== undefined && ctx.faults.startFailNames?.includes(config.values.name);
  if (ctx.faults.startFail || ctx.faults.startFailNodes?.includes(ctx.node) || named) throw new PveDie(QEMU_FAILED);
  const plan = planGuest(ctx, config);

  const nic = config.values.net0 === undefined ? undefined : parseNet(config.values.net0);
  const bridgeName = nic?.keys.bridge;
  const tag = nic?.keys.tag === undefined ? undefined : Number(nic.keys.tag);
  const lan = bridgeName === undefined ? undefined : resolveLan(ctx.settings, ctx.node, bridgeName, tag);
  const mac = nic?.mac?.toLowerCase();
  const address = mac && lan ? await guestAddress(ctx, config.values, mac, lan, plan.boots) : {};
  const started = await spawnGuest(ctx.paths, {
    vmid,
    node: ctx.node,
    startedAt: Date.now(),
    bootDelayMs: ctx.settings.bootDelayMs,
    mac,
    bridge: lan?.device ?? bridgeName,
    ...address,
    ...(lan?.hostAddress === undefined ? {} : { hostCidr: `${lan.hostAddress}/${lan.prefix}` }),
    ...plan,
    sshPort: ctx.settings.guestSshPort,
    probePort: ctx.settings.guestProbePort,
  }, ctx.env);
  if (!started.ok) {
    ctx.out(`linus-sim: guest ${vmid} cannot listen on ${address.ip ?? '?'}:${ctx.settings.guestSshPort}: ${started.code} ${started.message}\n`);
    throw new PveDie(QEMU_FAILED);
  }
}
