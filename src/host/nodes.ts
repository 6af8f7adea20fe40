import { LinusError } from '../protocol/errors.js';
import type { SshTarget } from '../ssh/connection.js';

export interface NodeAddress {
  host: string;
  port?: number;
}

// The target's nodeAddresses ("pve2=10.0.0.12[:22]" each): qm acts only on the node it runs on, so
// a VM on another node is reached over SSH to that node.
export function parseNodeAddresses(list: readonly string[] | undefined): Record<string, NodeAddress> {
  const items = (list ?? []).map((item) => item.trim()).filter(Boolean);
  const out: Record<string, NodeAddress> = {};
  for (const item of items) {
    const match = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)=([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(item);
    const port = match?.[4] === undefined ? undefined : Number(match[4]);
    if (!match || (port !== undefined && (port < 1 || port > 65535))) {
      throw new LinusError({ code: 'INVALID_SPEC', message: `--node-address ${JSON.stringify(item)}: must be <node>=<host>[:<port>]`, remediation: 'Example: --node-address pve2=192.168.1.12 --node-address pve3=192.168.1.13:2222' });
    }
    out[match[1] as string] = { host: (match[3] as string).replace(/^\[|\]$/g, ''), ...(port === undefined ? {} : { port }) };
  }
  return out;
}

// The SSH target of another node: same user, keys and trust, that node's address.
export function nodeTarget(base: SshTarget, address: NodeAddress): SshTarget {
  return { ...base, host: address.host, port: address.port ?? base.port };
}

// Where to follow a VM_ON_OTHER_NODE refusal: the node its LINUS_ERROR_NODE names, when that node
// has an address; otherwise the refusal stands.
export function otherNodeTarget(otherNode: string | undefined, base: SshTarget, addresses: Record<string, NodeAddress>): { node: string; ssh: SshTarget } | undefined {
  const address = otherNode === undefined ? undefined : addresses[otherNode];
  return otherNode !== undefined && address ? { node: otherNode, ssh: nodeTarget(base, address) } : undefined;
}

// Where to run a provisioner for a VM on <node>: the host linus connected to when that is the node
// (or the node is unknown), else the node's address from the map. An explicit --node without an
// address goes through --host.
export function sshForNode(node: string, local: string | undefined, base: SshTarget, addresses: Record<string, NodeAddress>): SshTarget {
  if (node === local) return base;
  const address = addresses[node];
  return address ? nodeTarget(base, address) : base;
}
