import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../../src/protocol/codes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const doc = fs.readFileSync(path.join(root, 'docs', 'agents.md'), 'utf8');

// Every code a plan's output can carry: the provisioner's codes, and UPLOAD_FAILED for the
// upload steps' own refusal.
const PLAN_CODES: ErrorCode[] = [
  'INVALID_SPEC', 'MISSING_DEPENDENCY', 'UNSUPPORTED_PVE', 'STORAGE_NOT_FOUND', 'BRIDGE_NOT_FOUND', 'NODE_NOT_FOUND', 'NODE_OFFLINE',
  'CREATE_FAILED', 'RESIZE_FAILED', 'START_FAILED', 'LOCK_TIMEOUT', 'ID_CLAIM_EXHAUSTED', 'IP_TIMEOUT', 'SSH_TIMEOUT',
  'IMAGE_DOWNLOAD_FAILED', 'IMAGE_CHECKSUM_MISMATCH', 'NAME_CONFLICT', 'INSUFFICIENT_STORAGE', 'INSUFFICIENT_MEMORY', 'JOB_NOT_FOUND', 'JOB_LOST',
  'CANCELLED', 'UPLOAD_FAILED', 'INTERNAL',
];

describe('docs/agents.md', () => {
  const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d+) \|/gm)].map((match) => [match[1]!, Number(match[2])]));

  it('tells the agent what to do for every code a plan can print, with the exit status codes.ts gives it', () => {
    expect([...rows.keys()].sort()).toEqual([...PLAN_CODES].sort());
    for (const [code, exit] of rows) expect(exit, code).toBe(ERROR_CODES[code as ErrorCode].exitCode);
  });

  it("quotes ssh-mcp 2.11's own error messages", () => {
    const build = path.join(path.dirname(createRequire(import.meta.url).resolve('ssh-mcp/package.json')), 'build');
    const sources = fs.readdirSync(build, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js')).map((file) => fs.readFileSync(path.join(build, file), 'utf8')).join('\n');
    const quoted = ['HOST_KEY_PIN_MISMATCH', 'No credentials resolved for profile', 'Command is too long (max ', 'Command cannot contain a line break', 'APPROVAL_DENIED', 'APPROVAL_UNAVAILABLE', 'POLICY_DENIED', 'Command timed out after '];
    for (const text of quoted) {
      expect(doc, text).toContain(text.trim());
      expect(sources, text).toContain(text);
    }
  });
});
