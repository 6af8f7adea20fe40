import { LinusError } from '../protocol/errors.js';
import { entriesFor, fingerprint, hostToken, readKnownHosts } from '../ssh/known-hosts.js';

// The host key algorithms ssh-mcp v2 offers, in its order (build/ssh/algorithms.js): the server
// presents the first one it has, so that is the key to pin.
const SSH_MCP_HOST_KEY_ORDER = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

export interface PinSource {
  host: string;
  port: number;
  hostKey?: string[];
  knownHostsFiles: string[];
}

// ssh-mcp pins one fingerprint per profile (trustedHostKey). It comes from --host-key, or from
// the known_hosts entry of the key type ssh-mcp will negotiate.
export function resolveHostKeyPin(source: PinSource): string {
  if (source.hostKey && source.hostKey.length > 0) {
    const [pin, ...more] = source.hostKey;
    if (more.length > 0 || pin === undefined) {
      throw new LinusError({
        code: 'INVALID_SPEC',
        message: '--host-key: ssh-mcp pins exactly one host key per profile',
        remediation: 'Pass only the ed25519 fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host).',
      });
    }
    return pin;
  }
  const where = hostToken(source.host, source.port);
  const entries = entriesFor(readKnownHosts(source.knownHostsFiles), source.host, source.port).filter((entry) => entry.marker === undefined);
  const usable = entries
    .filter((entry) => SSH_MCP_HOST_KEY_ORDER.includes(entry.keyType))
    .sort((a, b) => SSH_MCP_HOST_KEY_ORDER.indexOf(a.keyType) - SSH_MCP_HOST_KEY_ORDER.indexOf(b.keyType));
  const [best] = usable;
  if (best === undefined) {
    throw new LinusError({
      code: 'HOST_KEY_UNKNOWN',
      message: `${where} is not in ${source.knownHostsFiles.join(', ')}, so there is no host key to pin for ssh-mcp`,
      remediation:
        `Connect once with ssh (ssh -p ${source.port} root@${source.host}) and check the fingerprint, pass --known-hosts FILE, ` +
        'or pin it with --host-key SHA256:... (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host).',
    });
  }
  return fingerprint(best.keyBlob);
}
