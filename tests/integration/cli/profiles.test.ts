import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxDown } from '../../../src/sim/sandbox.js';
import { CLI } from '../../helpers/driver.js';
import { startMcp } from '../../helpers/mcp.js';

// Issue 13's first acceptance line, as a new user types it: `sandbox up`, then the 'sandbox'
// profile carries every target flag and the VM's key, so `provision --profile sandbox --name
// web01` needs nothing else. Real processes, a home of their own (HOME, XDG_*): the real
// ~/.config is never touched.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-profiles-'));
const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_STATE_HOME: path.join(home, '.local', 'state') };
const sandboxDir = path.join(env.XDG_STATE_HOME, 'linus', 'sandbox');
const configFile = path.join(env.XDG_CONFIG_HOME, 'linus', 'config.yaml');

const linus = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false, env, extendEnv: false, stdin: 'ignore', stripFinalNewline: false });

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
});

afterAll(async () => {
  await sandboxDown(sandboxDir).catch(() => undefined);
  fs.rmSync(home, { recursive: true, force: true });
});

describe('profiles, from a fresh home', () => {
  it('sandbox up, then provision --profile sandbox --name web01, vm status and vm delete work with no other flag', async () => {
    const up = await linus(['sandbox', 'up']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain(`\nProfile 'sandbox' written to ${configFile} (the default profile: linus commands without --profile use it).\n  linus provision --profile sandbox --name web01`);
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);

    const provision = await linus(['provision', '--profile', 'sandbox', '--name', 'web01', '--json']);
    expect(provision.exitCode, provision.stderr).toBe(0);
    // No --ssh-key: the profile's (the sandbox's own key) is what made the spec valid.
    expect(JSON.parse(provision.stdout)).toMatchObject({ ok: true, vm: { id: 100, name: 'web01', node: 'pve', user: 'ubuntu' } });

    const status = await linus(['vm', 'status', '100', '--profile', 'sandbox', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, vm: { name: 'web01', state: 'running', linus: true } });
    // The sandbox profile is the default one on a fresh home: no --profile needed.
    const byDefault = await linus(['vm', 'status', '100']);
    expect(byDefault.exitCode, byDefault.stderr).toBe(0);
    expect(byDefault.stdout).toBe("VM 100 'web01' on node pve: running, created by linus\n");

    // linus mcp resolves its target the same way.
    const mcp = await startMcp(['--profile', 'sandbox', '--read-only'], { env });
    try {
      const listed = await mcp.call('list_vms');
      expect(listed.isError, JSON.stringify(listed)).toBeFalsy();
      expect(listed.structuredContent.vms).toEqual([expect.objectContaining({ id: 100, name: 'web01' })]);
    } finally {
      await mcp.close();
    }

    const deleted = await linus(['vm', 'delete', '100', '--yes', '--stop', '--profile', 'sandbox']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(/^VM 100 'web01' deleted \(stopped first\)/);
    const list = await linus(['vm', 'list', '--profile', 'sandbox', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject({ ok: true, vms: [] });

    const down = await linus(['sandbox', 'down']);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain(`The 'sandbox' profile in ${configFile} stays; it points at nothing until the next 'linus sandbox up'.`);
    const profiles = await linus(['config', 'profiles']);
    expect(profiles.stdout).toBe('* sandbox  127.0.0.1  (default)\n');
  });

  it('sandbox up with a user config it cannot read still starts the sandbox, and says the profile was not written', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-profiles-broken-'));
    const dir = path.join(broken, 'sandbox');
    const file = path.join(broken, 'linus', 'config.yaml');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'profiles: [unclosed\n');
    try {
      const up = await execa(process.execPath, [CLI, 'sandbox', 'up', '--dir', dir], { reject: false, env: { ...env, XDG_CONFIG_HOME: broken }, extendEnv: false, stdin: 'ignore' });
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stderr).toMatch(new RegExp(`^linus: no 'sandbox' profile written: ${file}: not valid YAML`));
      expect(up.stdout).not.toContain("Profile 'sandbox'");
      expect(fs.readFileSync(file, 'utf8')).toBe('profiles: [unclosed\n');
    } finally {
      await sandboxDown(dir).catch(() => undefined);
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });
});
