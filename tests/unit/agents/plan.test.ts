import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classifyCommand } from 'ssh-mcp/build/policy/classifier.js';
import { sanitizeCommand } from 'ssh-mcp/build/guard/sanitizer.js';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAgentPlan, PlanTooLongError, type AgentPlan } from '../../../src/agents/plan.js';
import { provisionerArgs } from '../../../src/provisioners/args.js';
import { targetSchema, vmSpecSchema } from '../../../src/config/spec.js';
import { remotePath, type ProvisionerFile } from '../../../src/provisioners/remote.js';

// A stand-in provisioner: `start` prints its argv one per line, `wait` exits with the status
// written next to it. Random base64 keeps it large after gzip, so it takes several parts.
const script =
  '#!/usr/bin/env bash\n' +
  'case "$1" in\n' +
  "  start) shift; printf 'ARG:%s\\0' \"$@\" ;;\n" +
  '  wait) echo LINUS_JOB:RUNNING; exit "$(cat "${0%/*}/wait-exit")" ;;\n' +
  'esac\n' +
  `# ${randomBytes(24_000).toString('base64')}\n`;

function provisioner(body = script): ProvisionerFile {
  const content = Buffer.from(body);
  return { name: 'proxmox', version: '0.1.0', fileSha256: createHash('sha256').update(content).digest('hex'), content };
}

function bash(command: string) {
  const result = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const hostileArgs = ['--name', "it's $(reboot) `id` \"q\" \\ * ~ !x", '--dns', '1.1.1.1 8.8.8.8', '--empty', '', '--unicode', 'ünïcödé'];

function plan(dir: string, maxChars: number, prov = provisioner(), args: string[] = hostileArgs): AgentPlan {
  return buildAgentPlan({ provisioner: prov, remoteDir: dir, args, runId: 'rtest-0001', maxChars });
}

// What `linus agent-plan` passes for a full spec, with a real public key.
const realArgs = provisionerArgs(
  targetSchema.parse({ host: 'pve.lan' }),
  vmSpecSchema.parse({
    name: 'web01', os: 'debian-12', cores: 4, memory: 8192, disk: 40, sshKey: 'id.pub', password: true, ip: '192.168.1.50/24', gateway: '192.168.1.1',
    dns: '1.1.1.1 8.8.8.8', searchDomain: 'lan', vlan: 20, imageUrl: 'https://mirror.example/debian-12.qcow2', imageSha256: 'a'.repeat(64),
  }),
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA0rDb37eygpHUktZAObkqK/+6a7p9XxwzvlRRC/7vQR me@laptop\n',
  false,
);

const tempDirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-plan-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('agent plan', () => {
  it.each([1000, 5000, 2345])('is one line of at most %i characters per step, stderr merged, that ssh-mcp 2.11 accepts and classifies safe', (max) => {
    const built = plan('/var/lib/linus', max, provisioner(), realArgs);
    expect(built.steps.length).toBeGreaterThan(4);
    for (const step of built.steps) {
      expect(step.command.length).toBeLessThanOrEqual(max);
      expect(step.command).not.toMatch(/[\r\n\u2028\u2029\0]/);
      expect(step.command).not.toContain('<<');
      expect(step.command).not.toMatch(/\|\s*(sh|bash|dash|zsh|ksh|python3?|perl|ruby|node|php)\b/);
      expect(step.command).toMatch(/^\{ .*; \} 2>&1$/);
      // ssh-mcp's own input check and command classifier: no approval needed, nothing refused.
      expect(sanitizeCommand(step.command, max)).toBe(step.command);
      expect(classifyCommand(step.command).class).toBe('safe');
    }
    expect(built.steps.map((step) => step.kind)).toEqual(['check', ...Array(built.steps.length - 4).fill('upload'), 'verify', 'start', 'wait']);
    expect(built.steps.map((step) => step.step)).toEqual(built.steps.map((_, index) => index + 1));
    expect(built.steps.filter((step) => step.repeat).map((step) => step.kind)).toEqual(['wait']);
    expect(built.steps.filter((step) => step.skipIfCached).map((step) => step.step)).toEqual(
      Array.from({ length: built.skipWhenCached.to - built.skipWhenCached.from + 1 }, (_, index) => built.skipWhenCached.from + index),
    );
  });

  it('needs fewer steps with a larger limit, and refuses a limit too small for its longest step', () => {
    expect(plan('/var/lib/linus', 5000).steps.length).toBeLessThan(plan('/var/lib/linus', 1000).steps.length);
    expect(() => plan('/var/lib/linus', 300)).toThrow(PlanTooLongError);
    const longArgs = ['--image-url', `https://example.com/${'a'.repeat(900)}`];
    expect(() => plan('/var/lib/linus', 1000, provisioner(), longArgs)).toThrow(/the start step needs \d+ characters/);
  });

  it('uploads byte for byte and hands every argument to the provisioner unchanged, through real bash', () => {
    const dir = tempDir();
    const prov = provisioner();
    const built = plan(dir, 1000, prov);
    const [check, ...rest] = built.steps;
    expect(bash(check!.command)).toMatchObject({ code: 0, stdout: 'LINUS_UPLOAD_NEEDED\nlinus: run steps 2-' + built.skipWhenCached.to + ` (upload), then step ${built.skipWhenCached.to + 1}\n`, stderr: '' });
    for (const step of rest.filter((s) => s.kind === 'upload')) expect(bash(step.command)).toMatchObject({ code: 0, stderr: '' });
    const verify = rest.find((step) => step.kind === 'verify')!;
    expect(bash(verify.command)).toMatchObject({ code: 0, stdout: 'LINUS_UPLOADED\n', stderr: '' });
    expect(fs.readFileSync(remotePath(dir, prov)).equals(prov.content)).toBe(true);
    // The parts are gone; only the provisioner stays.
    expect(fs.readdirSync(path.join(dir, 'provisioners'))).toEqual([path.basename(remotePath(dir, prov))]);
    const start = bash(rest.find((step) => step.kind === 'start')!.command);
    expect(start.code).toBe(0);
    const argv = start.stdout.split('\0').slice(0, -1).map((word) => word.replace(/^ARG:/, ''));
    expect(argv).toEqual(['--run-id', 'rtest-0001', ...hostileArgs]);
    // Now cached: the check says so, and every upload step is a no-op saying the same.
    expect(bash(check!.command).stdout).toMatch(/^LINUS_CACHED\n/);
    for (const step of built.steps.filter((s) => s.skipIfCached)) expect(bash(step.command)).toMatchObject({ code: 0, stdout: 'LINUS_CACHED\n' });
  });

  it('survives a part sent twice, and names the missing parts instead of installing a broken file', () => {
    const dir = tempDir();
    const prov = provisioner();
    const built = plan(dir, 1000, prov);
    const parts = built.steps.filter((step) => step.kind === 'upload');
    const verify = built.steps.find((step) => step.kind === 'verify')!;
    for (const step of parts.slice(1)) bash(step.command);
    const missing = bash(verify.command);
    expect(missing.code).toBe(24);
    expect(missing.stdout).toContain(`LINUS_UPLOAD_FAILED:found ${parts.length - 1} of ${parts.length} parts`);
    expect(missing.stdout).toContain(`linus: run steps 2-${verify.step - 1} again, then step ${verify.step}`);
    expect(fs.existsSync(remotePath(dir, prov))).toBe(false);
    // The start step refuses to run a provisioner that is not there.
    const early = bash(built.steps.find((step) => step.kind === 'start')!.command);
    expect(early.code).toBe(24);
    expect(early.stdout).toMatch(/^LINUS_UPLOAD_NEEDED\n/);
    // Repeating steps is harmless: every part again (one twice), then verify.
    for (const step of [...parts, parts[0]!]) expect(bash(step.command).code).toBe(0);
    expect(bash(verify.command)).toMatchObject({ code: 0, stdout: 'LINUS_UPLOADED\n' });
    expect(fs.readFileSync(remotePath(dir, prov)).equals(prov.content)).toBe(true);
  });

  it('refuses parts that do not add up to the provisioner, and leaves no file in place', () => {
    const dir = tempDir();
    const prov = provisioner();
    const other = provisioner(`#!/usr/bin/env bash\n# ${randomBytes(24_000).toString('base64')}\n`);
    const built = plan(dir, 1000, prov);
    const foreign = plan(dir, 1000, other);
    const parts = built.steps.filter((step) => step.kind === 'upload');
    // The right number of parts, but one of them from another file (rewritten to this plan's name).
    for (const step of parts) bash(step.command);
    const stranger = foreign.steps.find((step) => step.kind === 'upload')!.command.replaceAll(other.fileSha256, prov.fileSha256).replace(/proxmox-0\.1\.0-[0-9a-f]{12}/, path.basename(remotePath(dir, prov), '.sh'));
    expect(bash(stranger).code).toBe(0);
    const result = bash(built.steps.find((step) => step.kind === 'verify')!.command);
    expect(result.code).toBe(24);
    expect(result.stdout).toContain('LINUS_UPLOAD_FAILED:the parts do not add up to the provisioner');
    expect(fs.existsSync(remotePath(dir, prov))).toBe(false);
  });

  it('reports a still-running job (exit 75) as a success and keeps the exit status of a finished one', () => {
    const dir = tempDir();
    const prov = provisioner();
    const built = plan(dir, 5000, prov);
    for (const step of built.steps.filter((s) => s.skipIfCached)) bash(step.command);
    const wait = built.steps.find((step) => step.kind === 'wait')!;
    expect(wait.command).toContain('--max-seconds 45');
    const exitFile = path.join(path.dirname(remotePath(dir, prov)), 'wait-exit');
    for (const [status, expected] of [[75, 0], [5, 5], [0, 0], [130, 130]] as const) {
      fs.writeFileSync(exitFile, String(status));
      expect(bash(wait.command)).toMatchObject({ code: expected, stdout: 'LINUS_JOB:RUNNING\n', stderr: '' });
    }
  });
});
