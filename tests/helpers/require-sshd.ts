import { describe, it } from 'vitest';
import { sshdUnavailableReason } from '../../src/sim/sshd.js';

export function sshdAvailable(): boolean {
  return sshdUnavailableReason() === undefined;
}

// A suite that needs a real OpenSSH sshd: it fails when CI is set and sshd cannot run (CI must
// install openssh-server), and is skipped with the reason only on a developer machine.
export function describeWithSshd(name: string, body: () => void): void {
  const reason = sshdUnavailableReason();
  if (reason === undefined) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('has a usable OpenSSH sshd (required when CI is set)', () => {
        throw new Error(`${reason}: install openssh-server (apt-get install openssh-server) and run as root`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${reason}; required when CI is set)`, body);
  }
}
