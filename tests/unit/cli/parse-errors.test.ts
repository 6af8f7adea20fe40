import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/driver.js';

// What a mistyped command line gets: the operator's words back and the fix, never a parser's
// internals ("expected number, received NaN", "Unknown arguments: f, o"). Nothing reaches a host.
describe('command-line mistakes', () => {
  it.each([
    [['provision', '--host', 'pve.lan', '--name', 'web01', '--disk', '20G'], '--disk: must be a whole number from 1 to 65536 (digits only, no unit)'],
    [['provision', '--host', 'pve.lan', '--name', 'web01', '--cores', '0.5'], '--cores: must be a whole number from 1 to 128, got 0.5'],
    [['provision', '--host', 'pve.lan', '--name', '-foo'], "--name got no value: '-foo' reads as short options; a value that starts with '-' is written --name=-foo"],
    [['vms', 'list'], "'vms' is not a linus command (did you mean vm?)"],
    [['shh', 'web01'], "'shh' is not a linus command (did you mean ssh?)"],
    [['provison', '--name', 'web01'], "'provison' is not a linus command (did you mean provision?)"],
  ])('%j', async (args, message) => {
    const result = await runCli(args, { SSH_AUTH_SOCK: '/nonexistent/agent.sock' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`linus: ${message} [INVALID_SPEC]`);
    expect(result.stderr).not.toMatch(/NaN|Unknown argument|^Did you mean/m);
  });
});
