import { LinusError } from '../protocol/errors.js';
import { appendKnownHost, entriesFor, fingerprint, hostToken, keyTypeOf, readKnownHosts } from './known-hosts.js';

export interface HostKeyPolicy {
  host: string;
  port: number;
  knownHostsFiles: string[];
  // SHA256:... fingerprints; when given, known_hosts is not consulted.
  pins?: string[];
  // Record a first-seen key in the first known_hosts file (never replaces a changed one).
  acceptNew?: boolean;
}

export interface HostKeyDecision {
  accepted: boolean;
  error?: LinusError;
  recorded?: boolean;
}

// Decides on the key the server presented, before any command runs.
export function checkHostKey(policy: HostKeyPolicy, keyBlob: Buffer): HostKeyDecision {
  const presented = fingerprint(keyBlob);
  const where = hostToken(policy.host, policy.port);
  if (policy.pins && policy.pins.length > 0) {
    if (policy.pins.includes(presented)) return { accepted: true };
    return {
      accepted: false,
      error: new LinusError({
        code: 'HOST_KEY_MISMATCH',
        message: `host key of ${where} is ${presented}, but --host-key pins ${policy.pins.join(', ')}`,
        remediation: `If the host's key was changed on purpose, check ${presented} on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pin that instead: --host-key ${presented} (or hostKey in the config file).`,
      }),
    };
  }
  const known = entriesFor(readKnownHosts(policy.knownHostsFiles), policy.host, policy.port);
  if (known.some((entry) => entry.marker === '@revoked' && entry.keyBlob.equals(keyBlob))) {
    return { accepted: false, error: new LinusError({ code: 'HOST_KEY_MISMATCH', message: `host key ${presented} of ${where} is marked @revoked in known_hosts` }) };
  }
  const plain = known.filter((entry) => entry.marker === undefined);
  if (plain.some((entry) => entry.keyBlob.equals(keyBlob))) return { accepted: true };
  if (plain.length > 0) {
    const expected = plain.map((entry) => `${fingerprint(entry.keyBlob)} (${entry.file}:${entry.line})`).join(', ');
    return {
      accepted: false,
      error: new LinusError({
        code: 'HOST_KEY_MISMATCH',
        message: `HOST KEY MISMATCH for ${where}: known_hosts has ${expected}, the server presented ${keyTypeOf(keyBlob)} ${presented}`,
      }),
    };
  }
  const file = policy.knownHostsFiles[0];
  if (policy.acceptNew && file !== undefined) {
    appendKnownHost(file, policy.host, policy.port, keyBlob);
    return { accepted: true, recorded: true };
  }
  return {
    accepted: false,
    error: new LinusError({
      code: 'HOST_KEY_UNKNOWN',
      message: `${where} is not in ${policy.knownHostsFiles.join(', ') || 'any known_hosts file'}; it presented ${keyTypeOf(keyBlob)} ${presented}`,
    }),
  };
}

// Host key algorithms to offer: the types already known for this host come first, as OpenSSH does.
export function preferredHostKeyAlgorithms(policy: HostKeyPolicy): string[] | undefined {
  if (policy.pins && policy.pins.length > 0) return undefined;
  const types = new Set(entriesFor(readKnownHosts(policy.knownHostsFiles), policy.host, policy.port).map((entry) => entry.keyType));
  if (types.size === 0) return undefined;
  const algorithms: string[] = [];
  for (const type of types) {
    if (type === 'ssh-rsa') algorithms.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algorithms.push(type);
  }
  return algorithms;
}
