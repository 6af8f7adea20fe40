import { z } from 'zod';
import { parseFleet, readFleet, type Fleet, type FleetCompletion, type FleetVm } from '../config/fleet-file.js';
import { resolveSettings, type Sources } from '../config/load.js';
import { vmSpecSchema } from '../config/spec.js';
import { readPublicKeys } from '../config/ssh-key.js';

// Where a fleet file's settings come from (docs/fleets.md): the file says what each VM is; only
// the key for new VMs and the image come from elsewhere when the file names none (flags do not
// apply, then the environment, --config, the profile, and the sandbox's own key and images), so
// that a profile changed later never turns into a plan to replace VMs.

const OUTSIDE = z.object({ os: vmSpecSchema.shape.os, sshKey: vmSpecSchema.shape.sshKey, imageUrl: vmSpecSchema.shape.imageUrl, imageSha256: vmSpecSchema.shape.imageSha256 });

export function fleetCompletion(sources: Sources, specDefaults: (flags: Record<string, unknown>) => Record<string, unknown>): FleetCompletion {
  return (settings) => {
    const out = { ...settings };
    const { value } = resolveSettings(OUTSIDE, { ...sources, flags: { os: settings.os ?? 'ubuntu' } });
    const outside = { ...value, ...specDefaults({ ...value, ...settings }) };
    if (out.sshKey === undefined && out.password !== true && outside.sshKey !== undefined) out.sshKey = outside.sshKey;
    if (out.imageUrl === undefined && outside.imageUrl !== undefined) {
      out.imageUrl = outside.imageUrl;
      if (outside.imageSha256 !== undefined) out.imageSha256 = outside.imageSha256;
    }
    return out;
  };
}

// The file's target: block fills what flags, the environment and --config leave, before the profile.
export function withFleetTarget(sources: Sources, fleet: Fleet): Sources {
  if (Object.keys(fleet.target).length === 0) return sources;
  const { profile } = sources;
  return { ...sources, profile: { name: profile ? `${profile.name} under the target: of ${fleet.file}` : `target: of ${fleet.file}`, file: profile?.file ?? fleet.file, settings: { ...(profile?.settings ?? {}), ...fleet.target } } };
}

export function loadFleet(source: { file: string } | { text: string; file: string }, env: NodeJS.ProcessEnv, complete?: FleetCompletion): Fleet {
  return 'text' in source ? parseFleet(source.text, source.file, env, complete) : readFleet(source.file, env, complete);
}

// The public keys a VM of the file gets (its sshKey file), read before anything is sent.
export function keysOf(vm: FleetVm): string | undefined {
  return vm.spec.sshKey === undefined ? undefined : readPublicKeys(vm.spec.sshKey, `${vm.name}: sshKey`);
}
