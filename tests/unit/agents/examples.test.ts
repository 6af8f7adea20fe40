import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { linusServerConfig, type LinusServerInput } from '../../../src/agents/linus-server.js';
import { mcpConfig, type McpConfigInput } from '../../../src/agents/mcp-config.js';
import { targetSchema } from '../../../src/config/spec.js';

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

// `linus mcp-config --server linus` for the same host, linus installed globally with npm.
const linusBase: LinusServerInput = {
  client: 'claude-code',
  name: 'linus',
  target: targetSchema.parse({ host: 'pve.lan', identity: '/home/you/.ssh/id_ed25519' }),
  node: '/usr/bin/node',
  cli: '/usr/lib/node_modules/linus/dist/src/cli/main.js',
  readOnly: false,
  allowForeign: false,
};
const linusJson = (input: Partial<LinusServerInput>) => `${JSON.stringify(linusServerConfig({ ...linusBase, ...input }).client.document, null, 2)}\n`;

const EXAMPLES: Record<string, string> = {
  'ssh-mcp-config.toml': mcpConfig(base).toml!.content,
  'ssh-mcp-config.dev.toml': mcpConfig({ ...base, approval: 'dev' }).toml!.content,
  'claude-code.mcp.json': json({ client: 'claude-code' }),
  'claude_desktop_config.json': json({ client: 'claude-desktop' }),
  'gemini.settings.json': json({ client: 'gemini' }),
  'claude-code.ssh-mcp-v1.mcp.json': json({ client: 'claude-code', sshMcp: 'v1' }),
  'linus.claude-code.mcp.json': linusJson({ client: 'claude-code' }),
  'linus.claude_desktop_config.json': linusJson({ client: 'claude-desktop' }),
  'linus.gemini.settings.json': linusJson({ client: 'gemini' }),
  'linus.read-only.claude-code.mcp.json': linusJson({ client: 'claude-code', readOnly: true }),
};

describe('mcp-config/ examples', () => {
  it.each(Object.keys(EXAMPLES))('%s is exactly what linus mcp-config generates for the example host', (file) => {
    const target = path.join(EXAMPLES_DIR, file);
    if (process.env.UPDATE_EXAMPLES) fs.writeFileSync(target, EXAMPLES[file]!);
    expect(fs.readFileSync(target, 'utf8')).toBe(EXAMPLES[file]);
  });
});
