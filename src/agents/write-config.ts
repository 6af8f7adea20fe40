import fs from 'node:fs';
import path from 'node:path';
import { LinusError } from '../protocol/errors.js';
import type { McpConfig } from './mcp-config.js';

// What --write writes: an ssh-mcp config (ssh-mcp servers only) and the client's file.
export type ClientFiles = Pick<McpConfig, 'toml' | 'client'>;

export interface WrittenFile {
  path: string;
  mode?: number;
  merged?: boolean;
}

// ssh-mcp refuses a config whose folder is not 0700 or whose file is not 0600.
function writePrivateToml(file: string, content: string, force: boolean): WrittenFile {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== content && !force) {
    throw new LinusError({
      code: 'CONFIG_INVALID',
      message: `${file} exists and holds another ssh-mcp configuration`,
      remediation: 'Pass --force to replace it, or leave out --write and add the printed profile to it by hand.',
    });
  }
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, content, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
  return { path: file, mode: 0o600 };
}

// Adds (or replaces) this server in the client's file and keeps every other setting and server.
function mergeClientJson(file: string, config: ClientFiles): WrittenFile {
  const [name, entry] = Object.entries(config.client.document.mcpServers)[0] ?? [];
  if (name === undefined) throw new LinusError({ code: 'INTERNAL', message: 'an MCP client document without a server' });
  let document: Record<string, unknown> = {};
  let merged = false;
  if (fs.existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new LinusError({ code: 'CONFIG_INVALID', message: `${file} is not valid JSON: ${(cause as Error).message}`, remediation: 'Fix or move the file, then run again.', cause });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new LinusError({ code: 'CONFIG_INVALID', message: `${file} does not hold a JSON object`, remediation: 'Fix or move the file, then run again.' });
    }
    document = parsed as Record<string, unknown>;
    merged = true;
  }
  const servers = document.mcpServers;
  const existing = servers !== null && typeof servers === 'object' && !Array.isArray(servers) ? (servers as Record<string, unknown>) : {};
  document.mcpServers = { ...existing, [name]: entry };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return { path: file, merged };
}

// --write DIR: the ssh-mcp config at config.toml.path and the client's file under DIR.
export function writeMcpConfig(dir: string, config: ClientFiles, force: boolean): WrittenFile[] {
  const written: WrittenFile[] = [];
  if (config.toml) written.push(writePrivateToml(config.toml.path, config.toml.content, force));
  written.push(mergeClientJson(path.join(dir, config.client.file), config));
  return written;
}
