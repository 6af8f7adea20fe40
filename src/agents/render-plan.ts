import type { AgentPlan } from './plan.js';

// What the plan is for, in one line: `VM web01: ubuntu-24.04, 2 cores, ...`.
export type PlanTitle = string;

// The plan as numbered text an agent follows top to bottom; every command sits alone on its line.
export function renderPlanText(plan: AgentPlan, title: PlanTitle): string {
  const last = plan.steps.length;
  const wait = plan.steps.find((step) => step.kind === 'wait');
  const { from, to } = plan.skipWhenCached;
  const lines = [
    `linus agent plan for ${title} (run id ${plan.runId}).`,
    `Run the ${last} steps below in order on the Proxmox host, each with ssh-mcp's run-command tool (ssh-mcp v1: exec):`,
    'one call per step, the command copied exactly as written (each command is a single line).',
    '',
    'Rules:',
    `- Step 1 prints LINUS_CACHED or LINUS_UPLOAD_NEEDED. After LINUS_CACHED, skip steps ${from}-${to} (marked "skip if cached") and go on with step ${to + 1}.`,
    '- When an output has a LINUS_RESULT: line, stop: that block is the result. LINUS_RESULT:SUCCESS is followed by',
    '  LINUS_VM_ID, LINUS_VM_IP, LINUS_VM_USER and the rest; LINUS_RESULT:FAILURE by LINUS_ERROR_CODE, LINUS_ERROR and',
    '  LINUS_REMEDIATION. A failed result is also reported as a tool error ending "[exit N]"; the block says why.',
    `- Step ${wait?.step ?? last} (wait) returns within ${plan.waitSeconds} s. While its output has no LINUS_RESULT: line (it ends with`,
    `  LINUS_JOB:RUNNING), run step ${wait?.step ?? last} again, unchanged.`,
    '- A step that fails without a LINUS_RESULT: line (a tool timeout, a dropped connection) may be run again as is:',
    '  every step is safe to repeat.',
  ];
  for (const step of plan.steps) {
    const skip = step.skipIfCached ? ', skip if cached' : '';
    const repeat = step.repeat ? ', repeat until LINUS_RESULT:' : '';
    lines.push('', `Step ${step.step} of ${last} (${step.kind}${skip}${repeat}): ${step.purpose}`, step.command);
  }
  return `${lines.join('\n')}\n`;
}

export function renderPlanJson(plan: AgentPlan, title: PlanTitle): string {
  const { steps, ...rest } = plan;
  const ordered = steps.map(({ command, repeat, purpose, step, kind, skipIfCached }) => ({ command, repeat, purpose, step, kind, skipIfCached }));
  return `${JSON.stringify({ title, ...rest, steps: ordered })}\n`;
}
