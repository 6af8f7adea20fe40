import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { onHost, runCli, startTarget, type Target } from '../../helpers/driver.js';

// `linus inventory` against the simulator, whose guests have real loopback addresses: the Ansible
// YAML checked against the structure Ansible's yaml inventory plugin accepts, the ssh-config
// blocks read back by `ssh -G`, the JSON by a schema.

// What ansible's yaml inventory plugin (lib/ansible/plugins/inventory/yaml.py, InventoryModule.parse
// and _parse_group) accepts without a warning: a mapping of groups; a group is a mapping (or null)
// of vars / children / hosts, each a mapping (or null); a host's value is its variables (a mapping
// or null). Group names are valid identifiers (lib/ansible/constants.py INVALID_VARIABLE_NAMES
// '^[\d\W]|[^\w]': anything else is rewritten with a warning).
function ansibleProblems(data: unknown): string[] {
  const problems: string[] = [];
  const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  const group = (name: string, value: unknown) => {
    if (name !== 'all' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`group ${name}: not a valid identifier`);
    if (value === null) return;
    if (!isMap(value)) return void problems.push(`group ${name}: not a mapping`);
    for (const [key, section] of Object.entries(value)) {
      if (!['vars', 'children', 'hosts'].includes(key)) problems.push(`group ${name}: unexpected key ${key}`);
      else if (section !== null && !isMap(section)) problems.push(`group ${name}: ${key} is not a mapping`);
    }
    for (const [host, vars] of Object.entries((value.hosts as Record<string, unknown> | null) ?? {})) {
      if (vars !== null && !isMap(vars)) problems.push(`host ${host}: its variables are not a mapping`);
      if (/[[\]:,\s]/.test(host)) problems.push(`host ${host}: would be read as a pattern`);
    }
    for (const [child, body] of Object.entries((value.children as Record<string, unknown> | null) ?? {})) group(child, body);
  };
  if (!isMap(data) || Object.keys(data).length === 0) return ['not a non-empty mapping'];
  if ('plugin' in data) problems.push('a plugin configuration, not an inventory');
  for (const [name, value] of Object.entries(data)) group(name, value);
  return problems;
}

const hostSchema = z
  .object({
    host: z.string(),
    name: z.string(),
    vmId: z.number().int(),
    node: z.string(),
    status: z.string(),
    address: z.string().nullable(),
    addressFrom: z.enum(['agent', 'record']).nullable(),
    user: z.string().nullable(),
    os: z.string().nullable(),
    fleets: z.array(z.string()),
    groups: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)),
  })
  .strict();
const inventorySchema = z
  .object({
    ok: z.literal(true),
    fleet: z.string().nullable(),
    hosts: z.array(hostSchema),
    missing: z.array(z.string()),
    warnings: z.array(z.string()),
    stats: z.object({ execs: z.number(), uploads: z.number() }).strict(),
  })
  .strict();

describe('linus inventory', () => {
  let target: Target;
  let dir: string;
  const vms: Record<string, { id: number; ip: string; user: string; os: string }> = {};
  const inventory = (...args: string[]) => runCli(['inventory', ...args, ...target.flags()]);
  const json = async (...args: string[]) => {
    const result = await inventory(...args, '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    return { ...inventorySchema.parse(result.json()), stderr: result.stderr };
  };

  beforeAll(async () => {
    // Prepared: linus' vendor-data gives the VMs a guest agent, so the VM list has their addresses.
    target = await startTarget({ prepared: true });
    dir = target.dir;
    for (const [name, user] of [
      ['web01', 'alice'],
      ['db01', 'ubuntu'],
    ] as const) {
      const result = await runCli(['provision', ...target.flags(), ...target.vmFlags(name), '--disk', '4', '--vm-user', user, '--json']);
      expect(result.code, result.stderr).toBe(0);
      vms[name] = result.json().vm;
    }
    // web01 joins fleet lab (the tag a fleet apply gives; `vm set --tags` keeps linus* tags to linus).
    const web01 = vms.web01 as { id: number };
    const tags = target.simHost.vmConfig(web01.id)?.tags as string;
    await onHost(target, `qm set ${web01.id} --tags '${tags};linus-fleet-lab'`);
    // A linus-tagged VM made by hand, running, with no agent and no record: linus knows no address.
    await onHost(target, 'qm create 195 --name noaddr --tags linus --net0 virtio,bridge=vmbr0 && qm start 195');
  }, 180_000);
  afterAll(async () => target.dispose());
  afterEach(() => target.simHost.clearFaults());

  it('JSON: every linus VM with address, user, node, VM ID, OS and groups; one exec for all of them', async () => {
    await json();
    const result = await json();
    const web01 = vms.web01 as { id: number; ip: string; os: string };
    expect(result.fleet).toBeNull();
    expect(result.hosts.map((host) => host.name)).toEqual(['web01', 'db01', 'noaddr']);
    expect(result.hosts[0]).toEqual({
      host: 'web01',
      name: 'web01',
      vmId: web01.id,
      node: 'pve',
      status: 'running',
      address: web01.ip,
      addressFrom: 'agent',
      user: 'alice',
      os: web01.os,
      fleets: ['lab'],
      groups: ['fleet_lab', 'node_pve', `os_${web01.os.replace(/[^a-z0-9]/g, '_')}`],
    });
    expect(result.hosts[1]).toMatchObject({ name: 'db01', address: vms.db01?.ip, user: 'ubuntu', fleets: [], groups: ['node_pve', expect.stringMatching(/^os_/)] });
    // Still listed, with what linus does not know as null.
    expect(result.hosts[2]).toMatchObject({ name: 'noaddr', vmId: 195, address: null, addressFrom: null, user: null, os: null, groups: ['node_pve'] });
    // The list with the configs of the linus VMs: one exec (the bundle cached by the first run).
    expect(result.stats).toEqual({ execs: 1, uploads: 0 });
  });

  it('when the agents do not answer: the addresses from the run records, read once for all VMs (2 execs)', async () => {
    await json();
    target.simHost.setFaults({ agent: 'never' });
    const result = await json();
    expect(result.hosts.slice(0, 2).map(({ name, address, addressFrom, user }) => ({ name, address, addressFrom, user }))).toEqual([
      { name: 'web01', address: vms.web01?.ip, addressFrom: 'record', user: 'alice' },
      { name: 'db01', address: vms.db01?.ip, addressFrom: 'record', user: 'ubuntu' },
    ]);
    expect(result.stats.execs).toBe(2);
  });

  it('Ansible: YAML the yaml inventory plugin accepts, with host variables and fleet, node and OS groups; a VM without address left out with a warning', async () => {
    const result = await inventory();
    expect(result.code, result.stderr).toBe(0);
    const data = parseYaml(result.stdout) as { all: { hosts: Record<string, Record<string, unknown>>; children: Record<string, { hosts: Record<string, unknown> }> } };
    expect(ansibleProblems(data)).toEqual([]);
    const web01 = vms.web01 as { id: number; ip: string; os: string };
    expect(data.all.hosts.web01).toEqual({ ansible_host: web01.ip, ansible_user: 'alice', linus_vmid: web01.id, linus_node: 'pve', linus_os: web01.os });
    expect(data.all.hosts.db01).toMatchObject({ ansible_host: vms.db01?.ip, ansible_user: 'ubuntu', linus_vmid: vms.db01?.id });
    expect(Object.keys(data.all.hosts)).toEqual(['web01', 'db01']);
    expect(Object.keys(data.all.children.fleet_lab?.hosts ?? {})).toEqual(['web01']);
    expect(Object.keys(data.all.children.node_pve?.hosts ?? {})).toEqual(['web01', 'db01']);
    expect(Object.keys(data.all.children[`os_${web01.os.replace(/[^a-z0-9]/g, '_')}`]?.hosts ?? {})).toEqual(expect.arrayContaining(['web01']));
    expect(result.stderr).toContain('linus: warning: noaddr (VM 195, running): left out, linus knows no address for it');
  });

  it('ssh-config: Host blocks that ssh -G reads back, with the VM ID in a comment', async () => {
    const result = await inventory('--format', 'ssh-config');
    expect(result.code, result.stderr).toBe(0);
    const web01 = vms.web01 as { id: number; ip: string };
    expect(result.stdout).toContain(`# web01: VM ${web01.id} on node pve, fleet lab`);
    expect(result.stdout).not.toContain('noaddr');
    expect(result.stderr).toContain('noaddr (VM 195, running): left out');
    const file = path.join(dir, 'ssh-config');
    fs.writeFileSync(file, result.stdout);
    const effective = (name: string) => Object.fromEntries(execFileSync('ssh', ['-G', '-F', file, name], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ', 2)));
    expect(effective('web01')).toMatchObject({ hostname: web01.ip, user: 'alice' });
    expect(effective('db01')).toMatchObject({ hostname: vms.db01?.ip, user: 'ubuntu' });
  });

  it('--fleet NAME: the VMs with the fleet tag only; a bad name is refused before connecting', async () => {
    const result = await json('--fleet', 'lab');
    expect(result.fleet).toBe('lab');
    expect(result.hosts.map((host) => host.name)).toEqual(['web01']);
    const none = await json('--fleet', 'empty');
    expect(none.hosts).toEqual([]);
    const empty = await inventory('--fleet', 'empty');
    expect(empty.code).toBe(0);
    expect(parseYaml(empty.stdout)).toEqual({ all: { hosts: {}, children: {} } });
    expect(empty.stderr).toContain('no VM of fleet empty exists');
    const bad = await inventory('--fleet', 'Not_A_Fleet', '--json');
    expect(bad.code).toBe(1);
    expect(bad.json().error).toMatchObject({ code: 'INVALID_SPEC', message: expect.stringContaining('--fleet: must be lowercase letters') });
  });

  it("-f FILE: the fleet's VMs in the file's order, then the fleet's others; the missing and the untagged named on stderr; the file's target block used", async () => {
    const db01 = vms.db01 as { id: number };
    const tags = target.simHost.vmConfig(db01.id)?.tags as string;
    await onHost(target, `qm set ${db01.id} --tags '${tags};linus-fleet-lab'`);
    const file = path.join(dir, 'fleet.yaml');
    const { info } = target;
    // Everything about the host comes from the file's target block: no target flag is passed.
    fs.writeFileSync(
      file,
      [
        'fleet: lab',
        'target:',
        `  host: ${info.host}`,
        `  port: ${info.port}`,
        `  user: ${info.user}`,
        `  identity: ${info.identityFile}`,
        `  knownHosts: ${info.knownHostsFile}`,
        `  remoteDir: ${info.remoteDir}`,
        `defaults: {sshKey: ${info.identityFile}.pub}`,
        'vms:',
        '  - name: ghost',
        '  - name: db01',
        '  - name: noaddr',
        '',
      ].join('\n'),
    );
    try {
      const result = await runCli(['inventory', '-f', file, '--format', 'json']);
      expect(result.code, result.stderr).toBe(0);
      const parsed = inventorySchema.parse(result.json());
      expect(parsed.fleet).toBe('lab');
      // db01 first (the file's order, not the VM IDs'), then web01: in the fleet, not in the file.
      expect(parsed.hosts.map((host) => host.name)).toEqual(['db01', 'web01']);
      expect(parsed.hosts[0]?.groups).toContain('fleet_lab');
      expect(parsed.missing).toEqual(['ghost']);
      expect(result.stderr).toContain('linus: ghost of the fleet file does not exist yet: not listed');
      expect(result.stderr).toContain(`web01 (VM ${vms.web01?.id}) carries the tag linus-fleet-lab but is not in ${file}`);
      // noaddr exists but without the fleet tag: never listed as a fleet VM, and said so.
      expect(result.stderr).toContain("noaddr (VM 195) exists without the tag linus-fleet-lab: not listed ('linus import --fleet lab noaddr' adopts it)");
      // A flag wins over the file's target block.
      const flagWins = await runCli(['inventory', '-f', file, '--format', 'json', '--port', '1']);
      expect(flagWins.json().error).toMatchObject({ code: 'CONNECTION_FAILED' });
      expect(flagWins.json().error.message).toContain(':1');
    } finally {
      await onHost(target, `qm set ${db01.id} --tags '${tags}'`);
    }
  });

  it('VMs that share a name are listed apart, as <name>-<vmid>, with a warning', async () => {
    await onHost(target, 'qm create 190 --name twin --tags linus && qm create 191 --name twin --tags linus');
    try {
      const result = await json();
      expect(result.hosts.filter((host) => host.name === 'twin').map((host) => host.host)).toEqual(['twin-190', 'twin-191']);
      expect(result.warnings).toContain("2 VMs are named 'twin': VM 190 is listed as twin-190");
    } finally {
      await onHost(target, 'qm destroy 190 && qm destroy 191');
    }
  });
});
