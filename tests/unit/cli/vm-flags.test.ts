import { describe, expect, it } from 'vitest';
import { runCli, runCliProcess } from '../../helpers/driver.js';

// Port 1 on loopback refuses connections: an answer other than CONNECTION_FAILED (exit 20) means
// the value was refused before linus tried to reach the host.
const unreachable = ['--host', '127.0.0.1', '--port', '1', '--known-hosts', '/dev/null'];

describe('linus vm flags are checked before anything is sent to the host', () => {
  it.each([
    [['start', 'bad name!'], /the VM: must be a VM ID or a VM name/],
    [['start', '99'], /the VM ID: must be a VM ID from 100 to 999999999, got 99/],
    [['stop', '101', '--timeout', '0'], /--timeout: must be an integer from 1 to 3600, got 0/],
    [['set', '101', '--cores', 'abc'], /--cores: must be an integer from 1 to 128, got something that is not a number/],
    [['set', '101', '--memory', '32'], /--memory: must be an integer from 64 to 4194304, got 32/],
    [['set', '101', '--name', 'bad name!'], /--name: must be a DNS label/],
    [['set', '101', '--description', 'two\nlines'], /--description: must be one line without control characters/],
    [['set', '101'], /nothing to set/],
    [['resize', '101', '--size', '-5'], /--size: must be GiB/],
    [['resize', '101', '--size', '+5', '--disk', 'scsi0;id'], /--disk: must be a disk such as scsi0/],
  ])('vm %j', async (args, message) => {
    const result = await runCli(['vm', ...args, ...unreachable, '--json']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.json()).toMatchObject({ ok: false, error: { code: 'INVALID_SPEC', message: expect.stringMatching(message) } });
  });

  // As a child process: only the JSON object reaches the real stdout, and the exit status is 1.
  it('answers argument errors yargs finds with one JSON object too under --json', async () => {
    for (const args of [['vm', 'resize', '101'], ['vm', 'start'], ['vm', 'start', '101', '--bogus']]) {
      const result = await runCliProcess([...args, ...unreachable, '--json']);
      expect(result.code).toBe(1);
      expect(result.json()).toMatchObject({ ok: false, error: { code: 'INVALID_SPEC', exitCode: 1 } });
    }
    const text = await runCliProcess(['vm', 'start', '101', '--bogus', ...unreachable]);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/Unknown argument: bogus \[INVALID_SPEC\]/);
  });
});
