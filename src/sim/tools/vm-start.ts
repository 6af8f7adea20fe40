import { spawnGuest } from '../guest-control.js';
import { runningPid } from '../guest-record.js';
import { leaseFor } from '../leases.js';
import { hasCloudInit } from './config-format.js';
import type { ToolContext } from './context.js';
import { PveDie } from './die.js';
import { parseNet, parsePropertyString } from './property-string.js';
import { checkLock, loadConfig } from './vm-store.js';

const QEMU_FAILED = 'start failed: QEMU exited with code 1';

// The address the guest takes on net0: ipconfig0's static address, else a DHCP lease on the bridge.
async function guestAddress(ctx: ToolContext, values: Record<string, string>, mac: string, dhcpPrefix: string): Promise<{ ip?: string; prefix?: number }> {
  const ip = values.ipconfig0 === undefined ? 'dhcp' : (parsePropertyString(values.ipconfig0).keys.ip ?? 'dhcp');
  if (ip === 'manual') return {};
  if (ip !== 'dhcp') {
    const [address, prefix] = ip.split('/');
    return { ip: address, prefix: Number(prefix) };
  }
  return { ip: await leaseFor(ctx.paths, mac, dhcpPrefix), prefix: 16 };
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
  if (hasCloudInit(config)) ctx.out('generating cloud-init ISO\n');

  const node = ctx.settings.nodes.find((entry) => entry.name === ctx.node);
  for (const [key, value] of Object.entries(config.values)) {
    if (!/^net\d+$/.test(key)) continue;
    const bridge = parseNet(value)?.keys.bridge;
    if (bridge !== undefined && !node?.bridges.some((entry) => entry.name === bridge)) {
      // The tap script's message, then kvm's (the kvm line is an approximation).
      const index = key.slice(3);
      ctx.out(`bridge '${bridge}' does not exist\n`);
      ctx.out(
        `kvm: -netdev type=tap,id=${key},ifname=tap${vmid}i${index},script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on: network script /usr/libexec/qemu-server/pve-bridge failed with status 512\n`,
      );
      throw new PveDie(QEMU_FAILED);
    }
  }
  if (ctx.faults.startFail || ctx.faults.startFailNodes?.includes(ctx.node)) throw new PveDie(QEMU_FAILED);

  const nic = config.values.net0 === undefined ? undefined : parseNet(config.values.net0);
  const bridgeName = nic?.keys.bridge;
  const bridge = node?.bridges.find((entry) => entry.name === bridgeName);
  const mac = nic?.mac?.toLowerCase();
  const address = mac && bridge ? await guestAddress(ctx, config.values, mac, bridge.dhcpPrefix) : {};
  const started = await spawnGuest(ctx.paths, {
    vmid,
    node: ctx.node,
    startedAt: Date.now(),
    bootDelayMs: ctx.settings.bootDelayMs,
    mac,
    bridge: bridgeName,
    ...address,
    sshPort: ctx.settings.guestSshPort,
  });
  if (!started.ok) {
    ctx.out(`linus-sim: guest ${vmid} cannot listen on ${address.ip ?? '?'}:${ctx.settings.guestSshPort}: ${started.code} ${started.message}\n`);
    throw new PveDie(QEMU_FAILED);
  }
}
