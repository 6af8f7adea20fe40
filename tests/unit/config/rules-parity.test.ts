import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CPU_TYPES, CPU_TYPES_PRE_V2 } from '../../../src/config/cpu.js';
import { OS_ALIASES, OS_CATALOG, OS_NAMES, resolveOs } from '../../../src/config/os-images.js';
import { CLONE_STEPS, PROVISION_STEPS } from '../../../src/config/rules.js';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { bundleFromSources, type Provisioner } from '../../../src/provisioners/bundle.js';
import { parseCloneSpec } from '../../../src/config/clone-spec.js';
import { cloneArgs, provisionerArgs } from '../../../src/provisioners/args.js';
import { parseFleet } from '../../../src/config/fleet-file.js';
import { checkVmFlags } from '../../../src/config/vm-flags.js';
import { expandNames } from '../../../src/config/names.js';
import { placeSchema } from '../../../src/protocol/data.js';

// The driver's checks (zod) and the host's (the bash of the bundles the driver uploads) take the
// same table of values: what the driver accepts, sent as the driver sends it, the host accepts;
// what the driver refuses, the host refuses too. A rule changed on one side only fails here.

type Verdict = 'accept' | 'reject';
type Sample = Record<string, string>;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-rules-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function bundleFile(name: 'proxmox' | 'vm'): string {
  const bundle: Provisioner = bundleFromSources(name);
  const file = path.join(dir, bundle.file);
  fs.writeFileSync(file, bundle.content);
  return file;
}
const PROXMOX = bundleFile('proxmox');
const VM = bundleFile('vm');

// Sources a bundle and runs one check per case (NUL-separated words, ending in a \x1e word) in a
// subshell with the entry's shell options; the operations stop where the VM would be looked up.
const HARNESS = `
source "$1"
set +eu
WORK_DIR=$(mktemp -d)
ops_find_vm() { exit 0; }
ops_read_resources() { exit 0; }
provision_checks() { parse_spec "$@"; validate_spec; }
clone_checks() { clone_parse "$@"; clone_validate; }
args=()
while IFS= read -r -d '' word; do
  if [[ "$word" != $'\\x1e' ]]; then args+=("$word"); continue; fi
  if out=$( (set -euo pipefail; "\${args[@]}") 2>&1); then echo accept
  elif [[ "$out" == *'error [INVALID_SPEC]'* ]]; then echo reject
  else printf 'error %s\\n' "\${out//$'\\n'/ | }"; fi
  args=()
done
rm -rf "$WORK_DIR"
`;

function hostVerdicts(bundle: string, cases: readonly string[][]): Verdict[] {
  const input = cases.map((words) => [...words, '\x1e'].map((word) => `${word}\0`).join('')).join('');
  const out = execFileSync('bash', ['-c', HARNESS, 'harness', bundle], { input, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const verdicts = out.trimEnd().split('\n');
  expect(verdicts).toHaveLength(cases.length);
  verdicts.forEach((verdict, index) => {
    if (verdict !== 'accept' && verdict !== 'reject') throw new Error(`host check ${JSON.stringify(cases[index])} failed otherwise: ${verdict}`);
  });
  return verdicts as Verdict[];
}

function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

// One surface: the driver's verdict on a sample, and the host argv for it (in the form the driver
// sends when it accepts, as given when it refuses).
interface Surface {
  bundle: string;
  driver: (sample: Sample) => boolean;
  host: (sample: Sample, driverAccepted: boolean) => string[];
  samples: Sample[];
}

// Numbers travel as the driver prints them (it parses "010" as 10 and sends "10").
const NUMERIC = new Set(['cores', 'memory', 'disk', 'vlan', 'timeout', 'count', 'id', 'templateId']);
const sent = (key: string, value: string, driverAccepted: boolean) => (driverAccepted && NUMERIC.has(key) ? String(Number(value)) : value);
const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function compare(surface: Surface): { mismatches: string[]; verdicts: Set<Verdict> } {
  const driver = surface.samples.map(surface.driver);
  const host = hostVerdicts(surface.bundle, surface.samples.map((sample, index) => surface.host(sample, driver[index] as boolean)));
  const mismatches = surface.samples.flatMap((sample, index) => {
    const want: Verdict = driver[index] ? 'accept' : 'reject';
    return host[index] === want ? [] : [`${JSON.stringify(sample).slice(0, 100)}: the driver says ${want}, the host ${host[index]}`];
  });
  return { mismatches, verdicts: new Set(host) };
}

function expectParity(surface: Surface): void {
  const { mismatches, verdicts } = compare(surface);
  expect(mismatches).toEqual([]);
  // A harness that accepts or refuses everything proves nothing.
  expect([...verdicts].sort()).toEqual(['accept', 'reject']);
}

const each = (key: string, values: readonly string[], extra: Sample = {}): Sample[] => values.map((value) => ({ ...extra, [key]: value }));
const rep = (text: string, count: number) => text.repeat(count);
const SHA = rep('a', 64);

const VM_NAMES = ['web01', 'a', '1', '9-9', 'Web01', 'WEB', '-vm', 'vm-', 'web_01', 'web.example', 'web 01', 'wéb', rep('a', 63), rep('a', 64),
  'web01; qm destroy 100', '$(reboot)', 'web\n01'];

describe('the driver and the host check values by one rule set', () => {
  it('provision: every option of run/start', () => {
    // The driver's defaults for what it always sends.
    const base: Sample = { name: 'web01', node: 'pve', storage: 'local-lvm', bridge: 'vmbr0', remoteDir: '/var/lib/linus' };
    const targetKeys = new Set(['node', 'storage', 'snippetsStorage', 'bridge', 'remoteDir']);
    const hostFlag: Record<string, string> = { vmUser: '--user' };
    const samples: Sample[] = [
      ...each('name', VM_NAMES),
      ...each('node', ['pve', 'pve2', 'PVE-Node', 'auto', 'pve_2', 'pve.lan', '-pve', rep('a', 63), rep('a', 64), 'pve/../x']),
      ...each('storage', ['local-lvm', 'local', 'x', 'ceph_pool.1', '1local', '_x', 'local-lvm,import-from=/etc/shadow', `a${rep('b', 99)}`, `a${rep('b', 100)}`]),
      ...each('snippetsStorage', ['local', '1local', 'lo cal']),
      ...each('bridge', ['vmbr0', 'vnet1', 'vmbr0.10', rep('a', 15), rep('a', 16), '0vmbr', '-br', 'vmbr0,tag=5']),
      ...each('remoteDir', ['/var/lib/linus', '/', '//', '/x/', '/a//b', '/.hidden', '/a..b', '/...', '/a/./b', '/a/../b', '/a/..', '/.', 'relative/dir', '/var/lib/../../etc', '/a b']),
      ...each('vmUser', ['ubuntu', '_svc', 'user-1', rep('a', 32), rep('a', 33), 'Root', 'root;id', '1user', 'user.x']),
      ...each('cores', ['1', '2', '128', '0', '129', '2x', '-1', '1.5']),
      ...each('memory', ['512', '511', '2048', '1048576', '1048577', '4194304', '4194305']),
      ...each('disk', ['1', '0', '20', '65536', '65537']),
      ...each('timeout', ['1', '0', '5', '10', '7200', '7201', '86400', '86401']),
      ...each('vlan', ['1', '0', '100', '4094', '4095']),
      ...each('ip', ['10.0.0.5/24', '10.0.0.5/32', '10.0.0.5/1', '10.0.0.5/0', '10.0.0.5/33', '10.0.0.5/01', '10.0.0.256/24', '010.0.0.5/24', '10.0.0.5', '10.0.0/24'], { gateway: '10.0.0.1' }),
      { ip: 'dhcp' },
      { ip: '10.0.0.5/24' },
      { ip: 'dhcp', gateway: '10.0.0.1' },
      { ip: '10.0.0.1/24', gateway: '10.0.0.1' },
      { ip: '10.0.0.5/24', gateway: '10.0.0' },
      ...each('dns', ['1.1.1.1', '1.1.1.1 8.8.8.8', '1.1.1.1 2.2.2.2 3.3.3.3', '1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4', '2001:db8::1', '1.1.1.1 2001:db8::53', '1.1.1.1; rm -rf /', '1.1.1.1 $(reboot)', '999.1.1.1']),
      ...each('searchDomain', ['example.com', 'lan', 'Example.COM', 'a..b', '-a.com', 'ex_ample.com', `${rep('a', 63)}.com`, `${rep('a', 64)}.com`, `${rep('a.', 125)}abc`, `${rep('a.', 126)}ab`]),
      ...each('imageUrl', ['https://example.com/a.img', 'http://mirror/x.qcow2?a=1&b=2', "https://example.com/it's.img", 'https://example.com/a b', 'ftp://example.com/a.img', `https://${rep('a', 1992)}`, `https://${rep('a', 1993)}`], { imageSha256: SHA }),
      ...each('imageSha256', [SHA, rep('A', 64), 'abc', rep('g', 64)], { imageUrl: 'https://example.com/a.img' }),
      ...each('os', [...OS_NAMES, 'fedora', 'Ubuntu', 'ubuntu-20.04']),
      ...each('cpu', [...CPU_TYPES, 'custom-foo', 'custom-', 'Nehalem-XYZ', 'HOST']),
      ...each('cpu', CPU_TYPES, { os: 'rocky' }),
      ...each('cpu', [...CPU_TYPES_PRE_V2, 'x86-64-v3'], { os: 'almalinux-9' }),
    ];
    expectParity({
      bundle: PROXMOX,
      samples,
      driver: (sample) => {
        const all = { ...base, ...sample };
        const spec = Object.fromEntries(Object.entries(all).filter(([key]) => !targetKeys.has(key)));
        const target = Object.fromEntries(Object.entries(all).filter(([key]) => targetKeys.has(key)));
        return vmSpecSchema.safeParse({ ...spec, password: true }).success && targetSchema.safeParse({ host: 'pve', ...target }).success;
      },
      host: (sample, ok) => ['provision_checks', '--password', '--run-id', 'parity-run1', ...Object.entries({ ...base, ...sample }).flatMap(([key, value]) => [hostFlag[key] ?? flag(key), sent(key, value, ok)])],
    });
  });

  it('provision of a fleet VM: --fleet, --tags and --description as a fleet file gives them', () => {
    const samples: Sample[] = [
      ...each('fleet', ['lab', 'a', 'lab-2', rep('a', 40), rep('a', 41), 'Lab', '-lab', 'lab-', 'lab_1', 'la b', 'lab;x']),
      ...each('tags', ['web', 'web;db.1', 'a+b', '_x', rep('a', 64), rep('a', 65), 'Web', 'linus', 'linus-x', 'web;linus-fleet-x', '-x', 'a b', 'a,b']),
      ...each('description', ['Web tier', '', 'ünïcode ok', rep('a', 8000), rep('a', 8001), 'two\nlines', 'tab\there', 'bell\x07']),
    ];
    const marksOf = (sample: Sample) => ({ ...(sample.fleet === undefined ? {} : { fleet: sample.fleet }), ...(sample.tags === undefined ? {} : { tags: sample.tags.split(';') }), ...(sample.description === undefined ? {} : { description: sample.description }) });
    const fileOf = (sample: Sample) => JSON.stringify({ fleet: sample.fleet ?? 'lab', vms: [{ name: 'web01', password: true, ...(sample.tags === undefined ? {} : { tags: sample.tags.split(';') }), ...(sample.description === undefined ? {} : { description: sample.description }) }] });
    expectParity({
      bundle: PROXMOX,
      samples,
      driver: (sample) => accepts(() => parseFleet(fileOf(sample), '/lab.yaml', {})),
      host: (sample) => {
        const spec = vmSpecSchema.parse({ name: 'web01', password: true });
        const target = { remoteDir: '/var/lib/linus', node: 'pve', storage: 'local-lvm', bridge: 'vmbr0' };
        // An empty description is not sent at all.
        return ['provision_checks', '--run-id', 'parity-run1', ...provisionerArgs(target, spec, undefined, false, 'check', false, marksOf(sample))];
      },
    });
  });

  it('clone: the template, name, user, address and timeout', () => {
    const samples: Sample[] = [
      ...each('templateId', ['100', '9000', '99', '999999999', '1000000000']),
      ...each('name', VM_NAMES),
      ...each('vmUser', ['ubuntu', 'Root', rep('a', 33)]),
      ...each('timeout', ['1', '0', '86400', '86401']),
      ...each('ip', ['10.0.0.5/24', '10.0.0.5/33', '999.0.0.5/24', '10.0.0.5', 'dhcp']),
      ...each('gateway', ['10.0.0.1', '10.0.0.256'], { ip: '10.0.0.5/24' }),
      { ip: 'dhcp', gateway: '10.0.0.1' },
    ];
    const flagsOf = (sample: Sample) => ({
      name: sample.name ?? 'web01',
      ...(sample.vmUser === undefined ? {} : { vmUser: sample.vmUser }),
      ...(sample.ip === undefined ? {} : { ip: sample.ip }),
      ...(sample.gateway === undefined ? {} : { gateway: sample.gateway }),
      ...(sample.timeout === undefined ? {} : { timeout: Number(sample.timeout) }),
    });
    const templateId = (sample: Sample) => Number(sample.templateId ?? '9000');
    expectParity({
      bundle: VM,
      samples,
      driver: (sample) => accepts(() => parseCloneSpec(templateId(sample), flagsOf(sample))),
      host: (sample, ok) => {
        // What the driver sends: the argv it builds; what it refuses, as given.
        if (ok) return ['clone_checks', ...cloneArgs(parseCloneSpec(templateId(sample), flagsOf(sample)), undefined, '/var/lib/linus')];
        const raw = { template: sample.templateId ?? '9000', name: sample.name ?? 'web01', user: sample.vmUser, ip: sample.ip, gateway: sample.gateway, timeout: sample.timeout };
        return ['clone_checks', ...Object.entries(raw).flatMap(([key, value]) => (value === undefined ? [] : [`--${key}`, value]))];
      },
    });
  });

  it('vm set, resize, power and place: the flags `linus vm` checks first', () => {
    // yargs hands these over as numbers; --disk here names a disk.
    const numeric = new Set(['cores', 'memory', 'timeout', 'id']);
    const vmFlags = (sample: Sample) => Object.fromEntries(Object.entries(sample).map(([key, value]) => [key, numeric.has(key) ? Number(value) : value]));
    const surfaces: { command: (sample: Sample, ok: boolean) => string[]; samples: Sample[]; driver?: (sample: Sample) => boolean }[] = [
      {
        command: (sample, ok) => ['cmd_set', '101', ...Object.entries(sample).flatMap(([key, value]) => [flag(key), sent(key, value, ok)])],
        samples: [
          ...each('name', [...VM_NAMES, '']),
          ...each('cores', ['1', '128', '0', '129']),
          ...each('memory', ['64', '63', '2048', '4194304', '4194305']),
          ...each('description', ['web: tier 1', '', 'two\nlines', 'tab\there', 'del\x7f', 'nel\u0085', rep('x', 8000), rep('x', 8001), rep('é', 4000), rep('é', 4001)]),
        ],
      },
      {
        command: (sample) => ['cmd_resize', '101', '--size', sample.size ?? '10', ...(sample.disk === undefined ? [] : ['--disk', sample.disk])],
        samples: [...each('size', ['10', '+10', '999999', '1000000', '0', '+0', '-5', '10G']), ...each('disk', ['scsi0', 'virtio15', 'sata5', 'efidisk0', 'scsi100', 'scsi0;id'], { size: '10' })],
      },
      {
        command: (sample, ok) => ['cmd_power', 'stop', sent('id', sample.id ?? '101', ok), ...(sample.timeout === undefined ? [] : ['--timeout', sent('timeout', sample.timeout, ok)])],
        samples: [...each('timeout', ['1', '60', '3600', '0', '3601']), ...each('id', ['100', '101', '999999999', '99', '1000000000'])],
      },
      {
        command: (sample, ok) => ['cmd_place', '--count', sent('count', sample.count as string, ok)],
        samples: each('count', ['1', '100', '0', '101']),
        driver: (sample) => accepts(() => expandNames('dev-{n}', Number(sample.count))),
      },
    ];
    for (const surface of surfaces) {
      expectParity({
        bundle: VM,
        samples: surface.samples,
        driver: surface.driver ?? ((sample) => accepts(() => checkVmFlags({ id: 101, ...vmFlags(sample) }))),
        host: surface.command,
      });
    }
  });

  it("placement facts: what the driver takes from vm.sh place, a job takes from the driver", () => {
    const facts = (over: Record<string, string> = {}) =>
      Object.entries({ node: 'pve', storage: 'local-lvm', pve: '8.4', storage_type: 'lvmthin', snippets: '', snippets_all: '', bridge_type: 'bridge', bridge_cidr: '10.0.0.2/24', free_ids: '102,103', seen: '1796136905', ...over })
        .map(([key, value]) => `${key}=${value}`)
        .join(';');
    const samples: Sample[] = [
      facts(),
      facts({ snippets: 'local', snippets_all: 'local,nfs.1', bridge_cidr: '' }),
      facts({ pve: '9.1', bridge_type: 'vnet', free_ids: '100', storage_type: '' }),
      facts({ pve: '7.4' }),
      facts({ node: 'pve;id' }),
      facts({ storage: '1local' }),
      facts({ bridge_type: 'eth' }),
      facts({ bridge_cidr: '10.0.0.256/24' }),
      facts({ free_ids: '' }),
      facts({ free_ids: '99,102' }),
      facts({ seen: '$(reboot)' }),
      facts({ snippets_all: 'local,' }),
      `${facts()};extra=1`,
      facts().replace('node=pve;storage=local-lvm', 'storage=local-lvm;node=pve'),
      `${facts()}\nnode=x`,
    ].map((value) => ({ facts: value }));
    expectParity({
      bundle: PROXMOX,
      samples,
      driver: (sample) => placeSchema.safeParse({ op: 'place', nodes: ['pve'], facts: sample.facts }).success,
      host: (sample) => ['provision_checks', '--password', '--run-id', 'parity-run1', '--name', 'web01', '--capacity', 'placed', '--placed-facts', sample.facts as string],
    });
  });

  it('file:// image URLs: the driver never sends one, the host takes one for test beds', () => {
    expect(vmSpecSchema.safeParse({ name: 'web01', password: true, imageUrl: 'file:///srv/img.qcow2', imageSha256: SHA }).success).toBe(false);
    const opts = ['--password', '--name', 'web01', '--image-sha256', SHA, '--image-url'];
    expect(hostVerdicts(PROXMOX, [['provision_checks', ...opts, 'file:///srv/img.qcow2'], ['provision_checks', ...opts, 'file:///srv/a b']])).toEqual(['accept', 'reject']);
  });

  it('the host reads the OS catalog as the driver does', () => {
    const out = execFileSync('bash', ['-c', 'source "$1"; set +eu; for os in "${@:2}"; do parse_spec --password --os "$os"; validate_spec; echo "${SPEC[os]} ${SPEC[user]} ${SPEC[image_agent]} ${SPEC[image_url]} ${SPEC[image_sums_url]}"; done', 'os', PROXMOX, ...OS_NAMES], { encoding: 'utf8' });
    const want = OS_NAMES.map((name) => {
      const os = OS_CATALOG[resolveOs(name)];
      return `${resolveOs(name)} ${os.user} ${os.agent ? 1 : 0} ${os.image} ${os.sums}`;
    });
    expect(out.trimEnd().split('\n')).toEqual(want);
    expect(Object.values(OS_ALIASES).every((id) => id in OS_CATALOG)).toBe(true);
  });

  it('the steps the host reports are the ones the driver names, in order', () => {
    const calls = (file: string, fn: string) => [...fs.readFileSync(file, 'utf8').matchAll(new RegExp(`^\\s*${fn} ([a-z-]+)$`, 'gm'))].map((match) => match[1]);
    expect(calls(PROXMOX, 'step')).toEqual([...PROVISION_STEPS]);
    expect(calls(VM, 'clone_step')).toEqual([...CLONE_STEPS]);
    const lines = (file: string, steps: string, names: readonly string[]) =>
      execFileSync('bash', ['-c', `source "$1"; set +eu; for s in "\${@:2}"; do step_line v ${steps} "$s"; echo "$v"; done`, 'steps', file, ...names], { encoding: 'utf8' });
    expect(lines(PROXMOX, 'PROVISION_STEPS', PROVISION_STEPS)).toBe(PROVISION_STEPS.map((name, i) => `${i + 1}/${PROVISION_STEPS.length}:${name}\n`).join(''));
    expect(lines(VM, 'CLONE_STEPS', CLONE_STEPS)).toBe(CLONE_STEPS.map((name, i) => `${i + 1}/${CLONE_STEPS.length}:${name}\n`).join(''));
  });
});
