import { describe, expect, it } from 'vitest';
import { doctorJson, reportText, summaryText } from '../../../src/doctor/render.js';
import { clockCheck, CLOCK_WARN_SECONDS, parseDoctorData, type DoctorReport } from '../../../src/doctor/report.js';

const check = (id: string, status: string, message: string, fix: string | null = null) => ({ kind: 'check', id, status, message, fix });
const host = (time: number) => ({ kind: 'host', node: 'pve', time });
const FIX = 'pvesm set local --content iso,vztmpl,backup,snippets';
const fix = { kind: 'fix', id: 'storage.snippets', storage: 'local', content: 'iso,vztmpl,backup,snippets', command: FIX };
const window = { startMs: 1_000_000_000, endMs: 1_000_002_000 };

describe('doctor records from the host', () => {
  it('become checks, safe fixes, and a clock check from the host time', () => {
    const report = parseDoctorData([check('pve.version', 'ok', 'Proxmox VE 8.4'), check('storage.snippets', 'warn', 'none', FIX), fix, host(1_000_001)], window);
    expect(report.checks.map((item) => [item.id, item.status])).toEqual([['pve.version', 'ok'], ['storage.snippets', 'warn'], ['clock', 'ok']]);
    expect(report.fixes).toEqual([{ id: 'storage.snippets', storage: 'local', content: 'iso,vztmpl,backup,snippets', command: FIX }]);
  });

  it.each([
    ['an unknown status', [check('x', 'bad', 'm'), host(1)]],
    ['an unknown key', [{ ...check('x', 'ok', 'm'), extra: 1 }, host(1)]],
    ['a fix whose content is not a plain list', [check('x', 'ok', 'm'), { ...fix, content: 'iso;rm -rf /' }, host(1)]],
    ['no host record', [check('x', 'ok', 'm')]],
    ['two host records', [check('x', 'ok', 'm'), host(1), host(2)]],
    ['no checks', [host(1)]],
  ])('refuse %s as a PROTOCOL_ERROR', (_name, data) => {
    expect(() => parseDoctorData(data, window)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });
});

describe('the clock check', () => {
  // The host's `date +%s` ran inside [startMs, endMs]; it truncates, so one second either way is slack.
  it.each([
    [1_000_000, 'ok'],
    [1_000_002, 'ok'],
    [999_999 - CLOCK_WARN_SECONDS, 'ok'],
    [999_998 - CLOCK_WARN_SECONDS, 'warn'],
    [1_000_003 + CLOCK_WARN_SECONDS, 'ok'],
    [1_000_004 + CLOCK_WARN_SECONDS, 'warn'],
  ])('host time %i is %s', (time, status) => {
    expect(clockCheck(time, window.startMs, window.endMs).status).toBe(status);
  });

  it('says which way and by how much, and how to fix it', () => {
    expect(clockCheck(1_000_003 + 120, window.startMs, window.endMs)).toEqual({
      id: 'clock', status: 'warn', message: "the host's clock is 120 s ahead of this machine's: TLS downloads and job ages go wrong", fix: 'chronyc makestep',
    });
    expect(clockCheck(999_999 - 45, window.startMs, window.endMs).message).toMatch(/^the host's clock is 45 s behind this machine's/);
  });
});

describe('doctor output', () => {
  const report: DoctorReport = {
    checks: [
      { id: 'pve.version', status: 'ok', message: 'Proxmox VE 8.4 is supported', fix: null },
      { id: 'storage.snippets', status: 'warn', message: 'no storage holds snippets', fix: FIX },
      { id: 'network.address-discovery', status: 'fail', message: 'no way to learn the address', fix: FIX },
      { id: 'image-cache', status: 'skip', message: 'not checked', fix: null },
    ],
    fixes: [{ id: 'storage.snippets', storage: 'local', content: 'iso,vztmpl,backup,snippets', command: FIX }],
  };

  it('is a table with the fix under each check that is not ok', () => {
    expect(reportText(report)).toBe(
      [
        'STATUS  CHECK                      RESULT',
        'ok      pve.version                Proxmox VE 8.4 is supported',
        'warn    storage.snippets           no storage holds snippets',
        `                                   fix: ${FIX}`,
        'fail    network.address-discovery  no way to learn the address',
        `                                   fix: ${FIX}`,
        'skip    image-cache                not checked',
        '',
      ].join('\n'),
    );
  });

  it('ends with the counts, and the safe fix unless --fix was given', () => {
    expect(summaryText(report, false)).toBe(`\n1 check failed, 1 warning. 'linus doctor --fix' applies the safe fix: ${FIX}\n`);
    expect(summaryText(report, true)).toBe('\n1 check failed, 1 warning.\n');
    expect(summaryText({ checks: [report.checks[0]!], fixes: [] }, false)).toBe('\nEvery check passed.\n');
  });

  it('as JSON: ok only without a failed check; applied fixes first', () => {
    const json = doctorJson(report, [report.fixes[0]!], { stats: { execs: 3 } });
    expect(json).toEqual({
      ok: false,
      checks: report.checks,
      fixes: [{ id: 'storage.snippets', command: FIX, applied: true }, { id: 'storage.snippets', command: FIX, applied: false }],
      stats: { execs: 3 },
    });
    expect(doctorJson({ checks: [report.checks[0]!], fixes: [] }, [], {}).ok).toBe(true);
  });
});
