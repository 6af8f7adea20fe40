#!/usr/bin/env node
// The background process behind `linus sandbox up`: it holds the simulated host, its SSH endpoint
// and the image server until SIGTERM (`linus sandbox down`), then disposes of them.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { LinusError, reportFatal } from '../protocol/errors.js';
import { sandboxOptionsSchema, startSandboxServices, writeSandboxInfo } from './sandbox.js';

// `up` passes one JSON argument, so there is no second argv parser to keep in step.
const daemonArgsSchema = sandboxOptionsSchema.extend({ dir: z.string().min(1) }).strict();

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

async function run(argument: string | undefined): Promise<void> {
  const { dir, ...options } = daemonArgsSchema.parse(JSON.parse(argument ?? '{}'));
  const running = await startSandboxServices(dir, options);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    try {
      await running.close();
      log('stopped');
    } catch (error) {
      process.exitCode = reportFatal(error, log);
    }
    process.exit();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
  writeSandboxInfo(dir, running.info);
  log(`up: ssh ${running.info.transport} on ${running.info.host}:${running.info.port}, images at ${running.info.imageUrl}`);
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(script)).href;
}

if (isMain()) {
  try {
    await run(process.argv[2]);
  } catch (error) {
    // `up` shows the tail of daemon.log: one operator-style message, not a stack.
    const failure = error instanceof LinusError ? error : new LinusError({ code: 'SANDBOX_FAILED', message: `cannot start the sandbox: ${(error as Error).message}`, cause: error });
    process.exit(reportFatal(failure, (text) => process.stderr.write(text)));
  }
}
