import type { Check, DoctorReport, SafeFix } from './report.js';

// The report as a table: status, check id, what it found; the fix on its own line below.
export function reportText(report: DoctorReport): string {
  const width = Math.max(5, ...report.checks.map((check) => check.id.length));
  const pad = ' '.repeat(8 + width + 2);
  const lines = [`${'STATUS'.padEnd(8)}${'CHECK'.padEnd(width + 2)}RESULT`];
  for (const check of report.checks) {
    lines.push(`${check.status.padEnd(8)}${check.id.padEnd(width + 2)}${check.message}`);
    if (check.fix !== null && check.status !== 'ok') lines.push(`${pad}fix: ${check.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// One line after the table: how many failed or warn, and what --fix would do.
export function summaryText(report: DoctorReport, fixFlag: boolean): string {
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  const warned = report.checks.filter((check) => check.status === 'warn').length;
  const head = failed + warned === 0 ? 'Every check passed.' : `${count(failed, 'check')} failed, ${count(warned, 'warning')}.`;
  const tail = report.fixes.length > 0 && !fixFlag ? ` 'linus doctor --fix' applies the safe fix${report.fixes.length === 1 ? '' : 'es'}: ${report.fixes.map((fix) => fix.command).join('; ')}` : '';
  return `\n${head}${tail}\n`;
}

export function fixesText(fixes: SafeFix[]): string {
  return `Safe fixes (a storage's content is a cluster-wide setting; its other content types stay):\n${fixes.map((fix) => `  ${fix.command}    (${fix.id})\n`).join('')}`;
}

export function doctorJson(report: DoctorReport, applied: SafeFix[], extra: Record<string, unknown>): Record<string, unknown> {
  const ok = !report.checks.some((check: Check) => check.status === 'fail');
  const fixes = [...applied.map((fix) => ({ id: fix.id, command: fix.command, applied: true })), ...report.fixes.map((fix) => ({ id: fix.id, command: fix.command, applied: false }))];
  return { ok, checks: report.checks, fixes, ...extra };
}
