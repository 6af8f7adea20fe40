import { parseSettings } from '../config/load.js';
import { resolveOs } from '../config/os-images.js';
import { targetSchema } from '../config/spec.js';
import { withSandbox, type SandboxInfo } from '../sim/sandbox.js';
import { sshTargetOf, type ResolvedTarget } from './target.js';

// The sandbox's own copy of the OS image asked for (its image server mirrors the catalog).
function sandboxImage(sandbox: SandboxInfo, os: unknown): { imageUrl: string; imageSha256: string } {
  const image = sandbox.images[resolveOs(typeof os === 'string' ? os : 'ubuntu')] ?? { url: sandbox.imageUrl, sha256: sandbox.imageSha256 };
  return { imageUrl: image.url, imageSha256: image.sha256 };
}

// --sandbox: a throwaway simulated host for the command; target flags given still win.
export async function withSandboxTarget<T>(targetFlags: Record<string, unknown>, fn: (resolved: ResolvedTarget) => Promise<T>): Promise<T> {
  return withSandbox(async (sandbox) => {
    const target = parseSettings(targetSchema, {
      flags: {
        host: sandbox.host,
        port: sandbox.port,
        user: sandbox.user,
        identity: sandbox.identityFile,
        knownHosts: sandbox.knownHostsFile,
        node: sandbox.node,
        storage: sandbox.storage,
        bridge: sandbox.bridge,
        remoteDir: sandbox.remoteDir,
        ...targetFlags,
      },
      env: {},
    });
    return fn({
      target,
      ssh: { ...sshTargetOf(target, {}), knownHostsFiles: [sandbox.knownHostsFile] },
      specDefaults: (specFlags) => ({
        ...(specFlags.sshKey === undefined && !specFlags.password ? { sshKey: `${sandbox.identityFile}.pub` } : {}),
        ...(specFlags.imageUrl === undefined ? sandboxImage(sandbox, specFlags.os) : {}),
      }),
    });
  });
}
