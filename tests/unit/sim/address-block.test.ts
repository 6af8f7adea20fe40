import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaseFile, releaseAddressBlock, reserveAddressBlock } from '../../../src/sim/address-block.js';
import { createSimHost, layoutSimHost } from '../../../src/sim/host.js';
import { resolveLan } from '../../../src/sim/lan.js';

// Every simulated host leases a loopback /16 of its own, so hosts of parallel tests never bind
// the same guest address. The lease directory lives under TMPDIR, pointed at a scratch one here.
describe('address blocks of simulated hosts', () => {
  let scratch: string;
  let savedTmp: string | undefined;
  const root = (name: string) => path.join(scratch, name);

  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-blocks-'));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('gives two hosts two blocks, and a released block to the next host', () => {
    const a = layoutSimHost(root('a')).settings.addressBlock;
    const b = layoutSimHost(root('b')).settings.addressBlock;
    expect(a).not.toBe(b);
    expect(fs.readFileSync(leaseFile(a), 'utf8')).toBe(`${root('a')}\n`);
    releaseAddressBlock(root('a'), a);
    expect(fs.existsSync(leaseFile(a))).toBe(false);
    expect(layoutSimHost(root('c')).settings.addressBlock).toBe(a);
  });

  it('keeps a host on its block when it is laid out again, and never releases a block another host holds', () => {
    const a = layoutSimHost(root('a')).settings.addressBlock;
    const b = layoutSimHost(root('b')).settings.addressBlock;
    releaseAddressBlock(root('a'), b);
    expect(fs.readFileSync(leaseFile(b), 'utf8')).toBe(`${root('b')}\n`);
    expect(layoutSimHost(root('a')).settings.addressBlock).toBe(a);
  });

  it('takes back the lease of a host whose directory is gone', () => {
    const a = layoutSimHost(root('a')).settings.addressBlock;
    fs.rmSync(root('a'), { recursive: true });
    expect(layoutSimHost(root('b')).settings.addressBlock).toBe(a);
  });

  it('refuses a block another host holds when the settings ask for it', () => {
    const a = layoutSimHost(root('a')).settings.addressBlock;
    expect(() => layoutSimHost(root('b'), { addressBlock: a })).toThrow(`address block ${a} is leased by another simulated host`);
    expect(reserveAddressBlock(root('b'))).not.toBe(a);
  });

  it("puts vmbr0, derived VLANs and settings that name the host's network in the block; dispose gives it back", async () => {
    const host = await createSimHost({ root: root('a'), settings: (net) => ({ sdnVnets: [{ name: 'vnet1', zone: 'zone1', network: `${net}.200.0/24` }] }) });
    const block = host.settings.addressBlock;
    expect(host.settings.nodes[0]?.bridges).toEqual([{ name: 'vmbr0', vlanAware: true, network: `127.${block}.0.0/24`, gateway: `127.${block}.0.1`, hostAddress: `127.${block}.0.2`, dhcp: true, vlans: [] }]);
    expect(resolveLan(host.settings, 'pve', 'vmbr0', 43)).toMatchObject({ device: 'vmbr0.43', network: `127.${block}.43.0/24`, gateway: `127.${block}.43.1` });
    expect(resolveLan(host.settings, 'pve', 'vmbr0', 4094)?.network).toBe(`127.${block}.14.0/24`);
    expect(resolveLan(host.settings, 'pve', 'vnet1')?.network).toBe(`127.${block}.200.0/24`);
    await host.dispose();
    expect(fs.existsSync(leaseFile(block))).toBe(false);
  });
});
