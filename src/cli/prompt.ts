import readline from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { CliIo } from './io.js';

// Whether a question can be asked and answered: both ends are a terminal.
export function canPrompt(io: CliIo): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}

// One line typed on the terminal, trimmed; the question goes to stderr.
export async function ask(io: CliIo, question: string): Promise<string> {
  const output =
    io.stderr instanceof Writable
      ? io.stderr
      : new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            io.stderr.write(chunk.toString());
            done();
          },
        });
  const rl = readline.createInterface({ input: io.stdin, output });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

// True only when the VM's name is typed exactly.
export async function confirmByName(io: CliIo, vmId: number, name: string, linus: boolean): Promise<boolean> {
  const owner = linus ? 'created by linus' : 'NOT created by linus';
  return (await ask(io, `Delete VM ${vmId} '${name}' (${owner}) with all its disks? Type its name to confirm: `)) === name;
}

// True only when <word> is typed exactly.
export async function confirmTyped(io: CliIo, question: string, word: string): Promise<boolean> {
  return (await ask(io, `${question} Type ${word} to confirm: `)) === word;
}
