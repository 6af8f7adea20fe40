import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBridge } from '../../../src/sim/settings.js';
import { runCli, settledLeftovers, startTarget, type Target } from '../../helpers/driver.js';

// `linus provision` end to end on the simulated stock host (reference §15): no snippets storage,
// cloud images as they are, a neighbour table that knows only whom the node talked to.
describe('linus provision on a stock host', () => {
  let target: Target;
  // vmbr1: a LAN the node has no address on (the guest network of a VLAN-only setup).
  const vmbr1 = (lan: string) => ({ name: 'vmbr1', network: `${lan}.200.0/24`, gateway: `${lan}.200.1` });
  const guestOf = (vmid: number) => JSON.parse(fs.readFileSync(path.join(target.simHost.paths.guestsDir, `${vmid}.json`), 'utf8'));
  const image = (os: string) => {
    const served = target.info.images[os];
    if (!served) throw new Error(`the sandbox serves no ${os} image`);
    return ['--os', os, '--image-url', served.url, '--image-sha256', served.sha256];
  };

  beforeAll(async () => {
    target = await startTarget({}, (lan) => ({ nodes: [{ name: 'pve', bridges: [defaultBridge(lan), vmbr1(lan)] }] }));
  });
  afterAll(async () => target.dispose());

  it('DHCP Ubuntu: no agent to ask, so the address comes from a probe and the MAC', async () => {
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('probe01'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { vm } = result.json();
    expect(vm.ip).toBe(guestOf(vm.id).ip);
    expect(target.simHost.vmConfig(vm.id)).toMatchObject({ cpu: 'x86-64-v2-AES', ciupgrade: '0' });
    expect(target.simHost.vmConfig(vm.id)?.agent).toBeUndefined();
  });

  it('DHCP Ubuntu on a network the node has no address on: IP_DISCOVERY_UNAVAILABLE, nothing created', async () => {
    const before = target.simHost.listVms().length;
    const result = await runCli(['provision', ...target.flags({ bridge: 'vmbr1' }), ...target.vmFlags('nowhere01'), '--json']);
    expect(result.code).toBe(3);
    expect(result.json().error).toMatchObject({ code: 'IP_DISCOVERY_UNAVAILABLE', exitCode: 3 });
    expect(result.json().error.remediation).toContain('linus doctor --fix');
    expect(result.json().vmId).toBeNull();
    expect(target.simHost.listVms()).toHaveLength(before);
  });

  it('--os rocky boots (x86-64-v2-AES by default) and reports its address through the agent the image ships', async () => {
    const result = await runCli(['provision', ...target.flags(), '--name', 'rocky01', '--ssh-key', `${target.info.identityFile}.pub`, ...image('rocky-9'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { vm } = result.json();
    expect(vm).toMatchObject({ os: 'rocky-9', user: 'rocky', ip: guestOf(vm.id).ip });
    expect(target.simHost.vmConfig(vm.id)).toMatchObject({ cpu: 'x86-64-v2-AES', agent: 'enabled=1' });
  });

  it('a static --ip another machine answers at is refused with IP_IN_USE before anything is created', async () => {
    const net = `127.${target.simHost.settings.addressBlock}`;
    await target.simHost.addForeignMachine({ ip: `${net}.0.70` });
    const before = target.simHost.listVms().length;
    const result = await runCli(['provision', ...target.flags(), ...target.vmFlags('taken01'), '--ip', `${net}.0.70/24`, '--gateway', `${net}.0.1`, '--json']);
    expect(result.code).toBe(9);
    expect(result.json().error).toMatchObject({ code: 'IP_IN_USE', message: `${net}.0.70 already answers SSH on port 22: another machine holds that address` });
    expect(target.simHost.listVms()).toHaveLength(before);
    expect((await settledLeftovers(target)).runningJobs).toEqual([]);
  });
});
