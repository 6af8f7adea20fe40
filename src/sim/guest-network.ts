import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { inNetwork } from './lan.js';
import { addNeighbour, removeNeighbour } from './neighbour.js';
import type { SimPaths } from './paths.js';

export interface Nic {
  ip: string;
  // Lowercase MAC, and the network's device as the node's neighbour table names it.
  mac: string;
  device: string;
  // The node's own address/prefix on this network, if it has one.
  hostCidr?: string | undefined;
  gateway?: string | undefined;
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// Where a simulated foreign machine records itself: the guest whose address it holds must not
// fail its start over the port, as two machines with one address on a LAN do not.
export const foreignRecordFile = (paths: SimPaths, ip: string) => path.join(paths.sim, 'foreign', `${ip}.json`);

// The network side of a simulated machine on a node's LAN: an sshd banner on <ip>:<sshPort>, a
// datagram sink on <ip>:<probePort>, and its entry in the node's neighbour table. Linux adds a
// neighbour entry only when it resolves an address itself, never for unsolicited ARP
// (net/ipv4/arp.c `arp_process`, arp_accept=0, reference §15.5): so the entry appears when the
// machine's gateway is the node (the machine resolves the node, and the node learns the sender of
// that request), or when the node sends to the machine's address on a network it has an address on.
export class GuestNetwork {
  private ssh: net.Server | undefined;
  private probe: dgram.Socket | undefined;
  private resolved = false;
  private resolvable: boolean;

  constructor(
    private readonly paths: SimPaths,
    private readonly nic: Nic,
    private readonly ports: { sshPort: number; probePort: number; sshBanner?: string | undefined },
    // A fault (`neighbour: false`) keeps the machine out of the table whatever happens, while set.
    private readonly kept: () => boolean = () => false,
  ) {
    this.resolvable = nic.hostCidr !== undefined && nic.ip.startsWith('127.') && inNetwork(nic.ip, nic.hostCidr);
  }

  // Fails (EADDRINUSE) if something that is not a simulated machine holds <ip>:<sshPort>.
  async checkFree(): Promise<void> {
    if (!this.ports.sshBanner || !this.nic.ip.startsWith('127.') || fs.existsSync(foreignRecordFile(this.paths, this.nic.ip))) return;
    const server = net.createServer();
    await listen(server, this.ports.sshPort, this.nic.ip);
    await new Promise((resolve) => server.close(resolve));
  }

  // The machine's network comes up: it listens, and talks to its gateway.
  async up(): Promise<void> {
    if (!this.nic.ip.startsWith('127.')) return;
    if (this.ports.sshBanner) {
      const banner = this.ports.sshBanner;
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        void this.contacted();
        socket.end(banner);
      });
      try {
        await listen(server, this.ports.sshPort, this.nic.ip);
        this.ssh = server;
      } catch {
        // Another machine holds the address: this one's sshd is simply not reachable there.
      }
    }
    const probe = dgram.createSocket('udp4');
    probe.on('message', () => void this.contacted());
    probe.on('error', () => probe.close());
    await new Promise<void>((resolve) => {
      probe.once('error', () => resolve());
      probe.bind(this.ports.probePort, this.nic.ip, () => resolve());
    });
    this.probe = probe;
    if (this.nic.gateway !== undefined && this.nic.hostCidr?.split('/')[0] === this.nic.gateway) await this.contacted();
  }

  private async contacted(): Promise<void> {
    if (this.resolved || !this.resolvable || this.kept()) return;
    this.resolved = true;
    await addNeighbour(this.paths, this.nic.ip, this.nic.mac, this.nic.device);
  }

  async close(): Promise<void> {
    this.ssh?.close();
    try {
      this.probe?.close();
    } catch {
      // Closed after a bind error.
    }
    if (this.resolved) await removeNeighbour(this.paths, this.nic.ip);
  }
}

// How a daemon that could not start tells the process that spawned it (one line on stdout).
export function reportStartFailure(error: unknown): void {
  const err = error as NodeJS.ErrnoException;
  try {
    process.stdout.write(`error ${err.code ?? 'EFAIL'} ${err.message ?? String(error)}\n`);
  } catch {
    // Nobody is listening.
  }
  process.exit(1);
}
