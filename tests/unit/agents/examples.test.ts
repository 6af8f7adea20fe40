import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mcpConfig, type McpConfigInput } from '../../../src/agents/mcp-config.js';

// mcp-config/ holds what `linus mcp-config` writes for an example host, so the examples cannot
// drift from the generator. Regenerate with: UPDATE_EXAMPLES=1 npx vitest run tests/unit/agents/examples.test.ts
const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../mcp-config');

const base: McpConfigInput = {
  client: 'claude-code',
  sshMcp: 'v2',
  approval: 'production',
  name: 'proxmox',
  host: 'pve.lan',
  port: 22,
  user: 'root',
  identity: '/home/you/.ssh/id_ed25519',
  trustedHostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
  configPath: '/home/you/.config/ssh-mcp/config.toml',
};

const json = (input: Partial<McpConfigInput>) => `${JSON.stringify(mcpConfig({ ...base, ...input }).client.document, null, 2)}\n`;

const EXAMPLES: Record<string, string> = {
  'ssh-mcp-config.toml': mcpConfig(base).toml!.content,
  'ssh-mcp-config.dev.toml': mcpConfig({ ...base, approval: 'dev' }).toml!.content,
  'claude-code.mcp.json': json({ client: 'claude-code' }),
  'claude_desktop_config.json': json({ client: 'claude-desktop' }),
  'gemini.settings.json': json({ client: 'gemini' }),
  'claude-code.ssh-mcp-v1.mcp.json': json({ client: 'claude-code', sshMcp: 'v1' }),
};

describe('mcp-config/ examples', () => {
  it.each(Object.keys(EXAMPLES))('%s is exactly what linus mcp-config generates for the example host', (file) => {
    const target = path.join(EXAMPLES_DIR, file);
    if (process.env.UPDATE_EXAMPLES) fs.writeFileSync(target, EXAMPLES[file]!);
    expect(fs.readFileSync(target, 'utf8')).toBe(EXAMPLES[file]);
  });
});
