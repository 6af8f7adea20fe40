// Follows a `linus agent-plan --json` plan the way docs/agents.md tells an agent to: step by step,
// skipping the upload steps after LINUS_CACHED, repeating the wait step until LINUS_RESULT:,
// stopping at the first LINUS_RESULT: line. Used by the e2e (through ssh-mcp) and unit tests.

export interface JsonStep {
  step: number;
  kind: string;
  command: string;
  repeat: boolean;
  skipIfCached: boolean;
  purpose: string;
}

export interface JsonPlan {
  runId: string;
  maxChars: number;
  skipWhenCached: { from: number; to: number };
  steps: JsonStep[];
}

export interface StepOutput {
  text: string;
  isError: boolean;
}

export interface Call extends StepOutput {
  step: number;
  kind: string;
}

export interface Followed {
  calls: Call[];
  cached: boolean;
  skipped: number[];
  // The output holding LINUS_RESULT:, and whether the tool called it an error.
  final: Call;
}

const RESULT = /^LINUS_RESULT:/m;

export async function followPlan(plan: JsonPlan, run: (command: string) => Promise<StepOutput>, maxWaits = 40): Promise<Followed> {
  const calls: Call[] = [];
  const skipped: number[] = [];
  let cached = false;
  for (const step of plan.steps) {
    if (step.skipIfCached && cached) {
      skipped.push(step.step);
      continue;
    }
    for (let attempt = 1; ; attempt += 1) {
      const output = await run(step.command);
      const call = { step: step.step, kind: step.kind, ...output };
      calls.push(call);
      if (step.kind === 'check') cached = /^LINUS_CACHED$/m.test(output.text);
      if (RESULT.test(output.text)) return { calls, cached, skipped, final: call };
      if (output.isError) throw new Error(`step ${step.step} (${step.kind}) failed without a LINUS_RESULT: line:\n${output.text}`);
      if (!step.repeat) break;
      if (!/^LINUS_JOB:RUNNING$/m.test(output.text)) throw new Error(`wait step ended without LINUS_RESULT: or LINUS_JOB:RUNNING:\n${output.text}`);
      if (attempt >= maxWaits) throw new Error(`still running after ${maxWaits} waits:\n${output.text}`);
    }
  }
  throw new Error(`the plan ended without a LINUS_RESULT: line:\n${calls.at(-1)?.text ?? ''}`);
}

export const linesOf = (calls: readonly Call[]): string[] => calls.flatMap((call) => call.text.split('\n'));
