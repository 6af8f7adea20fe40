import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLine, RECORD_KEYS } from '../../../src/protocol/records.js';
import { hostResult, parseTranscript, type Transcript } from '../../../src/protocol/transcript.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
// Real output of the host scripts on the simulated host (capture-transcripts.sh).
const transcripts = Object.fromEntries(
  fs.readdirSync(path.join(here, 'transcripts')).map((file) => [file.replace(/\.txt$/, ''), fs.readFileSync(path.join(here, 'transcripts', file), 'utf8')]),
);

function problemOf(transcript: Transcript): string {
  expect(transcript.problem).toBeDefined();
  expect(() => hostResult(transcript)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  return transcript.problem?.message ?? '';
}

describe('LINUS records', () => {
  it('every captured transcript parses line by line, and together they hold every record kind', () => {
    const seen = new Set<string>();
    for (const [name, text] of Object.entries(transcripts)) {
      for (const line of text.split('\n')) {
        const parsed = parseLine(line);
        expect(parsed.kind, `${name}: ${line}`).not.toBe('invalid');
        if (parsed.kind === 'record') seen.add(parsed.record.key);
      }
      expect(parseTranscript(text).problem, name).toBeUndefined();
    }
    expect([...seen].sort()).toEqual([...RECORD_KEYS].sort());
  });

  it('gives structured values: numbers, gc lines split into fields, LINUS_DATA as an object', () => {
    expect(parseLine('LINUS_VM_ID:104')).toEqual({ kind: 'record', record: { key: 'VM_ID', value: 104 } });
    expect(parseLine('LINUS_GC_CANDIDATE:103:cap-crash-1:unfinished-create')).toEqual({
      kind: 'record',
      record: { key: 'GC_CANDIDATE', value: { vmId: 103, runId: 'cap-crash-1', reason: 'unfinished-create' } },
    });
    expect(parseLine('LINUS_GC_SKIP:150:on-node-pve2')).toEqual({ kind: 'record', record: { key: 'GC_SKIP', value: { vmId: 150, reason: 'on-node-pve2' } } });
    expect(parseLine('LINUS_DATA:{"op":"status","id":100}')).toEqual({ kind: 'record', record: { key: 'DATA', value: { op: 'status', id: 100 } } });
    expect(parseLine('LINUS_END\r')).toEqual({ kind: 'record', record: { key: 'END', value: undefined } });
    expect(parseLine('linus: call: qm start 100')).toEqual({ kind: 'log', line: 'linus: call: qm start 100' });
  });

  it.each([
    ['a number that is not one', 'LINUS_VM_ID:10x', /LINUS_VM_ID/],
    ['an empty number', 'LINUS_OFFSET:', /LINUS_OFFSET must be a whole number/],
    ['a VM ID below 100', 'LINUS_CLEANED:99', /LINUS_CLEANED/],
    ['an address that is not IPv4', 'LINUS_VM_IP:not-an-ip', /LINUS_VM_IP/],
    ['a step without its counter', 'LINUS_STEP:validate', /LINUS_STEP must be <i>\/<n>:<name>/],
    ['an unknown gc reason', 'LINUS_GC_CANDIDATE:101:cap-dead-1:bored', /LINUS_GC_CANDIDATE must be <vmid>:<run-id>:<reason>/],
    ['an unknown skip reason', 'LINUS_GC_SKIP:101:bored', /LINUS_GC_SKIP has an unknown reason/],
    ['LINUS_DATA that is not JSON', 'LINUS_DATA:{"op":', /LINUS_DATA must be JSON/],
    ['LINUS_DATA that is not an object', 'LINUS_DATA:[1,2]', /LINUS_DATA/],
    ['an unknown error code', 'LINUS_ERROR_CODE:SOMETHING_NEW', /LINUS_ERROR_CODE/],
    ['a value on a key that takes none', 'LINUS_END:now', /LINUS_END takes no value/],
    ['a key that needs a value without one', 'LINUS_ERROR', /LINUS_ERROR/],
    ['a node name that is not one', 'LINUS_ERROR_NODE:pve 2', /LINUS_ERROR_NODE must be a node name/],
  ])('refuses %s as a protocol error naming the key', (_name, line, reason) => {
    const parsed = parseLine(line);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.reason).toMatch(reason);
    const text = transcripts['provision-success']?.replace('LINUS_STEP:9/9:report', `LINUS_STEP:9/9:report\n${line}`) ?? '';
    expect(problemOf(parseTranscript(text))).toContain(JSON.stringify(line.replace(/\r$/, '')));
  });

  // Host script and driver come from one build: a key this driver does not list means another
  // version or a bug, so it fails the command, in tests and in production alike.
  it('refuses a key it does not know, wherever it appears, and names it', () => {
    expect(parseLine('LINUS_SOMETHING_NEW:1')).toEqual({ kind: 'invalid', line: 'LINUS_SOMETHING_NEW:1', reason: 'LINUS_SOMETHING_NEW is not a record this linus knows' });
    for (const [name, text] of Object.entries(transcripts)) {
      const lines = text.trimEnd().split('\n');
      const middle = Math.floor(lines.length / 2);
      const tampered = [...lines.slice(0, middle), 'LINUS_SOMETHING_NEW', ...lines.slice(middle)].join('\n');
      expect(problemOf(parseTranscript(tampered)), name).toMatch(/LINUS_SOMETHING_NEW is not a record this linus knows/);
    }
  });

  it('keeps the first problem and goes on folding: the final block still arrives', () => {
    const text = (transcripts['provision-success'] ?? '').replace('LINUS_STEP:2/9:image', 'LINUS_STEP:2/9:image\nLINUS_VM_IP:x\nLINUS_NEW:1');
    const transcript = parseTranscript(text);
    expect(transcript.final[0]).toEqual({ key: 'RESULT', value: 'SUCCESS' });
    expect(transcript.ended).toBe(true);
    expect(problemOf(transcript)).toMatch(/LINUS_VM_IP/);
  });
});

describe('docs/protocol.md', () => {
  it('has one table row for every record key, and none for a key that does not exist', () => {
    const doc = fs.readFileSync(path.join(root, 'docs', 'protocol.md'), 'utf8');
    const section = /\n## Records\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? '';
    const keys = [...section.matchAll(/^\| `LINUS_([A-Z0-9_]+)[:`]/gm)].map((match) => match[1]);
    expect(keys.sort()).toEqual([...RECORD_KEYS].sort());
  });
});
