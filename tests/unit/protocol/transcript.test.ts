import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LinusError } from '../../../src/protocol/errors.js';
import { cleanupRecords, hostResult, opOutcome, parseTranscript, toOutcome, type Transcript } from '../../../src/protocol/transcript.js';
import type { SshTarget } from '../../../src/ssh/connection.js';
import { otherNodeTarget } from '../../../src/host/nodes.js';

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

// Real output of the host scripts on the simulated host (capture-transcripts.sh).
const here = path.dirname(fileURLToPath(import.meta.url));
function captured(name: string): Transcript {
  return parseTranscript(fs.readFileSync(path.join(here, 'transcripts', `${name}.txt`), 'utf8'));
}

describe('captured transcripts', () => {
  it('a provision with --password: the VM report, every step, the run id', () => {
    const outcome = toOutcome(captured('provision-success'));
    expect(outcome).toMatchObject({ ok: true, kind: 'success', runId: 'cap-good-1', vm: { id: 100, name: 'good', node: 'pve', os: 'ubuntu-24.04', cores: 2, memoryMiB: 2048, diskGiB: 4, user: 'ubuntu' }, warnings: [] });
    expect(outcome.steps.map((step) => step.split(':')[1])).toEqual(['validate', 'image', 'claim', 'create', 'cloudinit', 'start', 'ip', 'ssh', 'report']);
    expect(outcome.ok && outcome.kind === 'success' && outcome.vm.password).toMatch(/^(\w{5}\.){3}\w{5}$/);
    expect(outcome.logs).toContain('linus: call: qm start 100');
  });

  it('a dry run: the plan and the capacity warning, kept apart from the logs', () => {
    const outcome = toOutcome(captured('provision-dry-run'));
    expect(outcome).toMatchObject({ ok: true, kind: 'dry-run', runId: 'cap-dry-1' });
    expect(outcome.ok && outcome.kind === 'dry-run' && outcome.plan.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['qm create', 'qm resize', 'qm config', 'qm start']);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^VM 'dry' on node pve: the memory of node 'pve' will be [\d.]+ % used \(over 90 %, --force\)$/)]);
    expect(outcome.logs.some((line) => line.startsWith('LINUS_'))).toBe(false);
  });

  it('a failed start: its code, exit status and the VM it had claimed', () => {
    expect(toOutcome(captured('provision-failure'))).toMatchObject({ ok: false, kind: 'failure', runId: 'cap-fail-1', vmId: 101, error: { code: 'START_FAILED', exitCode: 5 } });
    expect(toOutcome(captured('job-cancel'))).toMatchObject({ ok: false, kind: 'failure', error: { code: 'CANCELLED', exitCode: 130, message: 'cancelled by SIGTERM' } });
  });

  it('start and a wait that returns while the job runs: the job state and offset, no result yet', () => {
    expect(captured('job-start')).toMatchObject({ runId: 'cap-slow-1', job: 'RUNNING', final: [] });
    const waiting = captured('job-wait-running');
    expect(waiting).toMatchObject({ runId: 'cap-slow-1', job: 'RUNNING', vmId: 101, final: [] });
    expect(waiting.offset).toBeGreaterThan(0);
    expect(() => hostResult(waiting)).toThrow(/without a final LINUS_RESULT block/);
  });

  it('a VM operation: its LINUS_DATA objects', () => {
    expect(opOutcome(captured('op-status'))).toEqual({
      ok: true,
      data: [{ id: 100, linus: true, lock: null, name: 'good', node: 'pve', op: 'status', state: 'running', template: false }],
      warnings: [],
      logs: ['linus: call: pvesh get /cluster/resources --output-format json', 'linus: call: qm config 100', 'linus: call: qm status 100'],
    });
  });

  it('a VM on another node: the node comes from LINUS_ERROR_NODE, whatever the message says', () => {
    const text = fs.readFileSync(path.join(here, 'transcripts', 'op-other-node.txt'), 'utf8');
    expect(opOutcome(parseTranscript(text))).toMatchObject({ ok: false, otherNode: 'pve2', error: { code: 'VM_ON_OTHER_NODE', exitCode: 17 } });
    const reworded = opOutcome(parseTranscript(text.replace(/^LINUS_ERROR:.*$/m, 'LINUS_ERROR:VM 190 lives elsewhere')));
    expect(reworded).toMatchObject({ ok: false, otherNode: 'pve2' });
    const base = { host: 'pve.lan', port: 22, user: 'root' } as SshTarget;
    expect(otherNodeTarget(reworded.ok ? undefined : reworded.otherNode, base, { pve2: { host: '10.0.0.12', port: 2222 } })).toEqual({ node: 'pve2', ssh: { ...base, host: '10.0.0.12', port: 2222 } });
    expect(otherNodeTarget('pve2', base, {})).toBeUndefined();
    expect(otherNodeTarget(undefined, base, { pve2: { host: '10.0.0.12' } })).toBeUndefined();
  });

  it('cleanup and gc: candidates, skips, removed VMs, volumes, job directories and partial downloads', () => {
    const gc = captured('gc');
    expect(hostResult(gc)).toMatchObject({ ok: true, result: 'SUCCESS' });
    expect(cleanupRecords(gc)).toEqual({
      candidates: [{ vmId: 101, runId: 'cap-dead-1', reason: 'job-died' }, { vmId: 103, runId: 'cap-crash-1', reason: 'unfinished-create' }],
      cleaned: [101, 103],
      removedVolumes: ['local-lvm:vm-103-cloudinit', 'local-lvm:vm-103-disk-0'],
      skipped: [{ vmId: 150, reason: 'no-job-dir' }, { vmId: 190, reason: 'no-run-tag' }],
      staleJobs: ['cap-crash-1', 'cap-dead-1', 'cap-dead-2', 'cap-fail-1', 'cap-slow-1'],
      staleDownloads: [`.${'0'.repeat(64)}.4242.part`],
    });
    const dry = captured('gc-dry-run');
    expect(hostResult(dry)).toMatchObject({ ok: true, result: 'DRY_RUN' });
    expect(cleanupRecords(dry)).toMatchObject({ cleaned: [], removedVolumes: [], staleJobs: ['cap-dead-2', 'cap-fail-1', 'cap-slow-1'] });
    const cleanup = captured('cleanup');
    expect(cleanup.runId).toBe('cap-dead-2');
    expect(cleanupRecords(cleanup)).toMatchObject({ cleaned: [102], candidates: [], skipped: [] });
  });

  it("the driver's upload commands: an upload needed, an upload that failed", () => {
    expect(captured('upload-needed').upload).toBe('needed');
    expect(captured('upload-failed').upload).toBe('failed');
    expect(captured('agent-upload-failed').upload).toBe('failed');
    expect(captured('version').records.map((record) => record.key)).toEqual(['PROTOCOL', 'VERSION', 'PROVISIONER', 'BODY_SHA256']);
  });
});
