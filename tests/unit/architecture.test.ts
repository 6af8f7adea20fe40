import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The import rules of docs/architecture.md, read from the sources: a forbidden import fails here.
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

const COORDINATORS = new Set(['jobs', 'ops']);
// Coordinators of coordinators: a fleet plan/apply/import stands on jobs/ and ops/.
const COMPOSITES = new Set(['fleet']);
// The MCP server stands on the coordinators, below the cli: nothing under it imports it.
const SERVERS = new Set(['mcp']);
const LEAVES = new Set(['protocol', 'ssh', 'config', 'provisioners', 'host', 'doctor', 'agents', 'util']);
// The only modules outside src/sim that may load the simulator: the sandbox command and --sandbox.
const SIM_USERS = new Set(['cli/commands/sandbox.ts', 'cli/sandbox-target.ts']);
// What the simulator itself may use: it stands beside the driver, not on it.
const SIM_MAY_USE = new Set(['sim', 'protocol', 'util']);

interface Import {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

// Every relative import, re-export and dynamic import of a file, as paths under src/.
function importsOf(file: string, text: string): Import[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((match) => match[1] as string);
  return specifiers.map((specifier) => ({
    from: path.relative(SRC, file),
    to: path.relative(SRC, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts'),
  }));
}

const top = (rel: string) => rel.split(path.sep)[0] as string;

// The rule an import breaks, or undefined.
function violation({ from, to }: Import): string | undefined {
  const [a, b] = [top(from), top(to)];
  if (a === b) return undefined;
  if (b === 'sim' && a !== 'sim' && !SIM_USERS.has(from)) return 'only the sandbox command and --sandbox load the simulator';
  if (a === 'sim') return SIM_MAY_USE.has(b) ? undefined : `the simulator uses only ${[...SIM_MAY_USE].join(', ')}`;
  if (LEAVES.has(a) && (COORDINATORS.has(b) || COMPOSITES.has(b) || SERVERS.has(b))) return 'a leaf never imports a coordinator';
  if (COORDINATORS.has(a) && SERVERS.has(b)) return 'jobs and ops never import mcp: it stands on them';
  if (COORDINATORS.has(a) && COMPOSITES.has(b)) return 'jobs and ops never import fleet: it stands on them';
  if (COMPOSITES.has(a) && SERVERS.has(b)) return 'fleet never imports mcp: mcp stands on it';
  if ((LEAVES.has(a) || COORDINATORS.has(a) || COMPOSITES.has(a) || SERVERS.has(a)) && b === 'cli') return 'only the cli imports the cli';
  if (COORDINATORS.has(a) && COORDINATORS.has(b)) return 'jobs and ops are peers: share through a leaf';
  if (a === 'provisioners' && (b === 'ssh' || b === 'host')) return 'bundling is pure: provisioners never reach a host';
  if (!LEAVES.has(a) && !COORDINATORS.has(a) && !COMPOSITES.has(a) && !SERVERS.has(a) && a !== 'cli') return `${a}/ is in no layer of docs/architecture.md`;
  return undefined;
}

// Where the driver may touch its process (streams, exit status, environment, signals): the
// program's entry and the CliIo it builds; everything else gets them injected, so main() runs
// in-process. The build script and the simulator are programs of their own.
const PROCESS_USERS = new Set(['cli/io.ts', 'cli/main.ts', 'cli/logger.ts', 'provisioners/build-cli.ts', 'agents/mcp-config.ts']);

describe('layers (docs/architecture.md)', () => {
  const files = sourceFiles(SRC);
  const imports = files.flatMap((file) => importsOf(file, fs.readFileSync(file, 'utf8')));

  it('touches the process only where the CLI meets it', () => {
    const touching = files
      .map((file) => path.relative(SRC, file).split(path.sep).join('/'))
      .filter((rel) => !rel.startsWith('sim/') && !PROCESS_USERS.has(rel))
      .filter((rel) => /\bprocess\.(stdout|stderr|stdin|exit|exitCode|env|on|once|argv)\b/.test(fs.readFileSync(path.join(SRC, rel), 'utf8')));
    expect(touching).toEqual([]);
  });

  it('reads the imports of every source file', () => {
    expect(imports.length).toBeGreaterThan(300);
    expect(imports).toContainEqual({ from: path.join('cli', 'main.ts'), to: path.join('cli', 'commands', 'index.ts') });
  });

  it('every import goes down: cli -> mcp -> fleet -> jobs | ops -> leaves; the simulator beside', () => {
    const broken = imports.flatMap((entry) => {
      const rule = violation(entry);
      return rule === undefined ? [] : [`${entry.from} -> ${entry.to}: ${rule}`];
    });
    expect(broken).toEqual([]);
  });

  it('names each forbidden direction', () => {
    const check = (from: string, to: string) => violation({ from: path.join(...from.split('/')), to: path.join(...to.split('/')) });
    expect(check('protocol/data.ts', 'jobs/run-job.ts')).toMatch(/leaf never imports a coordinator/);
    expect(check('host/run.ts', 'cli/io.ts')).toMatch(/only the cli/);
    expect(check('ops/run-op.ts', 'cli/io.ts')).toMatch(/only the cli/);
    expect(check('jobs/placement.ts', 'ops/run-op.ts')).toMatch(/peers/);
    expect(check('ops/vm.ts', 'jobs/clone.ts')).toMatch(/peers/);
    expect(check('provisioners/remote.ts', 'ssh/connection.ts')).toMatch(/bundling is pure/);
    expect(check('cli/commands/vm.ts', 'sim/sandbox.ts')).toMatch(/simulator/);
    expect(check('jobs/run-job.ts', 'sim/host.ts')).toMatch(/simulator/);
    expect(check('sim/host.ts', 'ssh/connection.ts')).toMatch(/simulator uses only/);
    expect(check('cli/commands/sandbox.ts', 'sim/sandbox.ts')).toBeUndefined();
    expect(check('cli/commands/provision.ts', 'jobs/provision.ts')).toBeUndefined();
    expect(check('jobs/run-job.ts', 'host/run.ts')).toBeUndefined();
    expect(check('ops/vm.ts', 'mcp/server.ts')).toMatch(/never import mcp/);
    expect(check('host/run.ts', 'mcp/connection.ts')).toMatch(/leaf never imports a coordinator/);
    expect(check('mcp/server.ts', 'cli/io.ts')).toMatch(/only the cli/);
    expect(check('mcp/server.ts', 'sim/host.ts')).toMatch(/simulator/);
    expect(check('mcp/provision.ts', 'jobs/provision.ts')).toBeUndefined();
    expect(check('mcp/vm-tools.ts', 'ops/vm.ts')).toBeUndefined();
    expect(check('cli/commands/mcp.ts', 'mcp/server.ts')).toBeUndefined();
    expect(check('fleet/apply.ts', 'jobs/run-job.ts')).toBeUndefined();
    expect(check('fleet/apply.ts', 'ops/vm.ts')).toBeUndefined();
    expect(check('mcp/fleet-tools.ts', 'fleet/plan.ts')).toBeUndefined();
    expect(check('cli/commands/fleet.ts', 'fleet/apply.ts')).toBeUndefined();
    expect(check('ops/vm.ts', 'fleet/plan.ts')).toMatch(/never import fleet/);
    expect(check('jobs/provision.ts', 'fleet/create.ts')).toMatch(/never import fleet/);
    expect(check('config/fleet-file.ts', 'fleet/plan.ts')).toMatch(/leaf never imports a coordinator/);
    expect(check('fleet/plan.ts', 'mcp/server.ts')).toMatch(/fleet never imports mcp/);
    expect(check('fleet/apply.ts', 'cli/io.ts')).toMatch(/only the cli/);
    expect(check('fleet/apply.ts', 'sim/host.ts')).toMatch(/simulator/);
  });
});
