import fs from 'node:fs';
import { LinusError } from '../protocol/errors.js';

const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;

// Reads the public key(s) for the VM. A private key passed by mistake never leaves this machine.
export function readPublicKeys(file: string, source = '--ssh-key'): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${source}: cannot read ${file}: ${(cause as Error).message}`, remediation: 'Pass the path of a public key file, such as ~/.ssh/id_ed25519.pub.', cause });
  }
  return parsePublicKeys(text, source, file);
}

// Checks public key text (one key a line; # comments) from <source> (a flag or field) <where>.
export function parsePublicKeys(text: string, source: string, where: string): string {
  if (text.includes('PRIVATE KEY')) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${source}: ${where} is a PRIVATE key; it was not sent anywhere`, remediation: 'Pass the matching public key (the .pub file).' });
  }
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0 || !lines.every((line) => PUBLIC_KEY.test(line))) {
    throw new LinusError({ code: 'INVALID_SPEC', message: `${source}: ${where} does not hold OpenSSH public keys (one per line)`, remediation: "Pass a file such as ~/.ssh/id_ed25519.pub (create one with 'ssh-keygen -t ed25519')." });
  }
  return `${lines.join('\n')}\n`;
}
