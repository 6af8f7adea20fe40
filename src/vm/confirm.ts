import readline from 'node:readline/promises';

// Asks on the terminal for the VM's name; true only when it is typed exactly.
export async function confirmByName(vmId: number, name: string, linus: boolean): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const owner = linus ? 'created by linus' : 'NOT created by linus';
    const answer = await rl.question(`Delete VM ${vmId} '${name}' (${owner}) with all its disks? Type its name to confirm: `);
    return answer.trim() === name;
  } finally {
    rl.close();
  }
}

// Asks on the terminal; true only when <word> is typed exactly.
export async function confirmTyped(question: string, word: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} Type ${word} to confirm: `)).trim() === word;
  } finally {
    rl.close();
  }
}
