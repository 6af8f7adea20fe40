import { redactText } from 'ssh-mcp/build/guard/redactor.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTarget, type Target } from '../../helpers/driver.js';
import { localRunner } from '../../helpers/local-runner.js';
import { followPlan, linesOf, type Followed, type JsonPlan } from '../../e2e/follow-plan.js';

// ssh-mcp v2's entropy rule (build/guard/redactor.js), computed here from its definition: a run
// of 20 or more [A-Za-z0-9+/=_-] with a Shannon entropy above 4.5 bits is replaced.
function highEntropyRuns(line: string): string[] {
  return [...line.matchAll(/[A-Za-z0-9+/=_-]{20,}/g)]
    .map(([run]) => run)
    .filter((run) => {
      const counts = new Map<string, number>();
      for (const char of run) counts.set(char, (counts.get(char) ?? 0) + 1);
      let entropy = 0;
      for (const count of counts.values()) entropy -= (count / run.length) * Math.log2(count / run.length);
      return entropy > 4.5;
    });
}

describe('what an agent reads: every line of a real plan run against the simulated host', () => {
  let target: Target;
  const stderr: string[] = [];

  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => target.dispose());

  async function planFor(name: string, extra: string[] = []): Promise<JsonPlan> {
    const { info } = target;
    const result = await runCli([
      'agent-plan', '--json', '--node', info.node, '--storage', info.storage, '--bridge', info.bridge, '--remote-dir', info.remoteDir,
      '--name', name, '--ssh-key', `${info.identityFile}.pub`, '--image-url', info.imageUrl, '--image-sha256', info.imageSha256, '--timeout', '20', ...extra,
    ]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as JsonPlan;
  }

  // The host shell without SSH: what ssh-mcp would return, stderr kept apart to prove it is empty.
  async function follow(plan: JsonPlan): Promise<Followed> {
    const runner = localRunner(target.simHost);
    return followPlan(plan, async (command) => {
      const { stdout, stderr: err, code } = await runner.exec(command);
      if (err !== '') stderr.push(err);
      return { text: stdout, isError: code !== 0 };
    });
  }

  function expectReadable(run: Followed): void {
    const lines = linesOf(run.calls);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      const runs = highEntropyRuns(line);
      // The rule as computed here is exactly what ssh-mcp 2.11 does to the line.
      expect(redactText(line, { entropyScan: true })).toBe(runs.reduce((text, run) => text.replace(run, `[REDACTED:entropy:${run.length}]`), line));
      // The lines an agent acts on pass whole. Human log lines may lose a host path (a sandbox's
      // temporary directory, a job directory), never an id, address or code.
      if (line.startsWith('LINUS_') && !line.startsWith('LINUS_PLAN:')) expect(runs, line).toEqual([]);
      else for (const run of runs) expect(run, line).toMatch(/^[^/]*\/.*\//);
    }
    // Progress stays short; protocol lines fit a narrow terminal or a tool-output preview.
    for (const line of lines.filter((l) => l.startsWith('LINUS_STEP:'))) expect(line.length, line).toBeLessThanOrEqual(40);
    for (const line of lines.filter((l) => l.startsWith('LINUS_') && !/^LINUS_(ERROR|REMEDIATION):/.test(l))) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(stderr).toEqual([]);
  }

  it('a successful provision with a generated password: no LINUS line redacted, nothing on stderr', async () => {
    const run = await follow(await planFor('agent-output', ['--password']));
    expect(run.final.text).toMatch(/^LINUS_RESULT:SUCCESS$/m);
    expect(run.final.text).toMatch(/^LINUS_VM_PASSWORD:\S+$/m);
    expect(run.final.isError).toBe(false);
    expect(run.calls.filter((call) => call.kind === 'upload').length).toBeGreaterThan(0);
    expectReadable(run);
    const vmId = Number(/^LINUS_VM_ID:(\d+)$/m.exec(run.final.text)?.[1]);
    expect(target.simHost.listVms().map((vm) => vm.vmid)).toContain(vmId);
  });

  it('a failed provision: the failure block survives redaction and the step is an error', async () => {
    target.simHost.setFaults({ startFail: true });
    try {
      const run = await follow(await planFor('agent-output-fail'));
      expect(run.cached).toBe(true);
      expect(run.final.text).toMatch(/^LINUS_RESULT:FAILURE$/m);
      expect(run.final.text).toMatch(/^LINUS_ERROR_CODE:START_FAILED$/m);
      expect(run.final.isError).toBe(true);
      expectReadable(run);
    } finally {
      target.simHost.clearFaults();
    }
  });
});
