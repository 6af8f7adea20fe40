import { describe, expect, it } from 'vitest';
import { LinusError } from '../../../src/protocol/errors.js';
import { parseTranscript, toOutcome } from '../../../src/protocol/result.js';

const success = [
  'LINUS_PROTOCOL:1',
  'LINUS_RUN_ID:run-abc123',
  'LINUS_STEP:1/9:validate',
  '[linus] validating inputs',
  'LINUS_VM_ID:104',
  'LINUS_RESULT:SUCCESS',
  'LINUS_VM_ID:104',
  'LINUS_VM_IP:127.88.0.10',
  'LINUS_VM_USER:ubuntu',
  'LINUS_VM_NAME:web01',
  'LINUS_VM_OS:ubuntu-24.04',
  'LINUS_VM_CPU:2',
  'LINUS_VM_RAM:2048',
  'LINUS_VM_DISK:20',
  'LINUS_VM_NODE:pve',
  'LINUS_END',
].join('\n');

function outcomeOf(text: string) {
  return toOutcome(parseTranscript(text));
}

function protocolErrorOf(text: string): LinusError {
  try {
    outcomeOf(text);
  } catch (error) {
    if (error instanceof LinusError) return error;
    throw error;
  }
  throw new Error('expected a protocol error');
}

describe('LINUS transcript', () => {
  it('turns a success block into a typed VM report and keeps other lines as logs', () => {
    const outcome = outcomeOf(success);
    expect(outcome).toMatchObject({
      ok: true,
      kind: 'success',
      runId: 'run-abc123',
      vm: { id: 104, ip: '127.88.0.10', user: 'ubuntu', name: 'web01', node: 'pve', cores: 2, memoryMiB: 2048, diskGiB: 20 },
      steps: ['1/9:validate'],
      logs: ['[linus] validating inputs'],
    });
  });

  it('still parses when stderr lines are interleaved and CRLF endings appear', () => {
    const merged = success.replace('LINUS_RESULT:SUCCESS', 'qm: some stderr noise\r\nLINUS_RESULT:SUCCESS\r');
    expect(outcomeOf(merged).ok).toBe(true);
  });

  it('reports a failure block with its stable code, exit code and remediation', () => {
    const outcome = outcomeOf(
      ['LINUS_PROTOCOL:1', 'LINUS_VM_ID:100', 'LINUS_RESULT:FAILURE', 'LINUS_ERROR_CODE:START_FAILED', 'LINUS_ERROR:start failed: QEMU exited with code 1', 'LINUS_REMEDIATION:check the bridge', 'LINUS_EXIT:5', 'LINUS_END'].join('\n'),
    );
    expect(outcome).toMatchObject({ ok: false, vmId: 100, error: { code: 'START_FAILED', exitCode: 5, message: 'start failed: QEMU exited with code 1', remediation: 'check the bridge' } });
  });

  it('treats output without a final block as a protocol error, even after progress', () => {
    const truncated = success.split('\n').slice(0, 8).join('\n');
    expect(protocolErrorOf(truncated).code).toBe('PROTOCOL_ERROR');
    expect(protocolErrorOf(success.replace('LINUS_END', '')).message).toMatch(/without a final LINUS_RESULT/);
  });

  it('refuses another protocol version and malformed values', () => {
    expect(protocolErrorOf(success.replace('LINUS_PROTOCOL:1', 'LINUS_PROTOCOL:2')).message).toMatch(/protocol 2/);
    expect(protocolErrorOf(success.replace('LINUS_VM_IP:127.88.0.10', 'LINUS_VM_IP:not-an-ip')).code).toBe('PROTOCOL_ERROR');
    expect(protocolErrorOf(success.replace('LINUS_PROTOCOL:1\n', '')).message).toMatch(/no LINUS_PROTOCOL/);
  });

  it('rejects an unknown error code instead of passing it on', () => {
    const text = ['LINUS_PROTOCOL:1', 'LINUS_RESULT:FAILURE', 'LINUS_ERROR_CODE:SOMETHING_NEW', 'LINUS_ERROR:x', 'LINUS_END'].join('\n');
    expect(protocolErrorOf(text).code).toBe('PROTOCOL_ERROR');
  });
});
