import { z } from 'zod';

// Faults a test or benchmark injects by writing <root>/sim/faults.json (SimHost.setFaults).
export const faultsSchema = z
  .object({
    // Added to every qm/pvesh/pvesm/pveversion call (a real qm costs 0.3-1 s of Perl start-up).
    latencyMs: z.number().int().nonnegative().optional(),
    // The guest agent never answers, or answers only this long after `qm start`.
    agent: z.union([z.literal('never'), z.object({ delayMs: z.number().int().nonnegative() }).strict()]).optional(),
    // Booted guests appear in the host's neighbour table (the no-agent fallback); default true. False
    // keeps them out while it is set.
    neighbour: z.boolean().optional(),
    // The guest's sshd never answers on port 22.
    guestSsh: z.literal('never').optional(),
    // `qm create ... import-from=` fails in the worker (config unlinked, exit 255).
    importFail: z.boolean().optional(),
    // `qm create` dies half-way through its import, as a worker does on SIGKILL, SIGPIPE after its
    // parent died, or a host crash: the config holds only `lock: create`, the volumes allocated so
    // far stay, nothing references them, and the flock dies with the process (API2/Qemu.pm
    // create_vm l.1374 create_and_lock_config, l.1478-1558 the worker under lock_config_full).
    // 'kill': it SIGKILLs itself there; 'hang': it waits there, flock held, until it is killed or
    // the fault is no longer 'hang' (then the import goes on).
    createCrash: z.enum(['kill', 'hang']).optional(),
    // Allocation on these storages fails for lack of space.
    storageFull: z.array(z.string()).optional(),
    // These storages are enabled in storage.cfg but not reachable (an NFS server that is down):
    // `pvesm status` shows them inactive, /cluster/resources `unknown`, and activating one dies
    // `storage '<id>' is not online` (allocation, `qm destroy --destroy-unreferenced-disks 1`).
    storageOffline: z.array(z.string()).optional(),
    // `qm start` fails with `start failed: QEMU exited with code 1`.
    startFail: z.boolean().optional(),
    // `qm start` fails like startFail, but only on these nodes (multi-node placement tests).
    startFailNodes: z.array(z.string()).optional(),
    // `qm start` fails like startFail, but only for VMs with these names (one failure among the
    // VMs of a fleet apply or a --count provision).
    startFailNames: z.array(z.string()).optional(),
    // The guest ignores power-down requests (ACPI, and guest-shutdown if its agent answers):
    // `qm shutdown`/`qm reboot` wait --timeout (default 60 s), then `VM quit/powerdown failed -
    // got timeout` (exit 255), or `qm shutdown --forceStop 1` stops it.
    shutdownIgnored: z.boolean().optional(),
    // `qm resize` fails (printed on stderr, exit 0 as on a real host).
    resizeFail: z.boolean().optional(),
    // Another process holds the flock on lock-<vmid>.conf: matching commands time out.
    heldLock: z
      .object({ vmid: z.number().int().optional(), commands: z.array(z.string()).optional() })
      .strict()
      .optional(),
    // nextid and /cluster/resources answer from this stale vmlist (set by SimHost.setFaults from
    // `vmlistStale: true`), so concurrent callers pick the same free ID, as with pmxcfs lag.
    staleVmids: z.array(z.number().int()).optional(),
    // Nodes reported offline.
    offlineNodes: z.array(z.string()).optional(),
  })
  .strict();

export type Faults = z.infer<typeof faultsSchema>;
export type FaultsInput = Omit<Faults, 'staleVmids'> & { vmlistStale?: boolean };
