import fs from 'node:fs';
import { hostGiven, parseSettings, type Sources } from '../config/load.js';
import { fallbackLogin } from '../config/ssh-config.js';
import { targetSchema, type Target } from '../config/spec.js';
import { LinusError } from '../protocol/errors.js';
import type { SshTarget } from '../ssh/connection.js';
import { knownHostsFiles } from '../ssh/known-hosts.js';
import type { TargetFlags } from './target-options.js';

export interface ResolvedTarget {
  target: Target;
  ssh: SshTarget;
  // Defaults a target brings for the VM spec (the sandbox's own key and image); flags still win.
  specDefaults(flags: Record<string, unknown>): Record<string, unknown>;
}

const TARGET_KEYS = Object.keys(targetSchema.shape);

export function sshTargetOf(target: Target, env: NodeJS.ProcessEnv): SshTarget {
  const ssh: SshTarget = {
    host: target.host,
    port: target.port,
    user: target.user,
    knownHostsFiles: knownHostsFiles(target.knownHosts),
    acceptNew: target.acceptNewHostKey,
    connectTimeoutMs: target.connectTimeout * 1000,
    ...(target.hostKey ? { pins: target.hostKey } : {}),
    ...(target.identity ? { identityFile: target.identity } : {}),
    ...(env.SSH_AUTH_SOCK ? { agentSocket: env.SSH_AUTH_SOCK } : {}),
    ...(env.LINUS_SSH_PASSWORD !== undefined ? { password: env.LINUS_SSH_PASSWORD } : {}),
    ...(env.LINUS_SSH_KEY_PASSPHRASE !== undefined ? { passphrase: env.LINUS_SSH_KEY_PASSPHRASE } : {}),
  };
  if (!ssh.identityFile) {
    const fallback = fallbackLogin(env);
    if (fallback === undefined) {
      throw new LinusError({
        code: 'CONFIG_INVALID',
        message: 'no way to authenticate: no --identity, no IdentityFile in ~/.ssh/config, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa, no ssh-agent (SSH_AUTH_SOCK) and no LINUS_SSH_PASSWORD',
        remediation: 'Pass --identity ~/.ssh/id_ed25519 (its public key in root@host:~/.ssh/authorized_keys), or start ssh-agent.',
      });
    }
    if ('identity' in fallback) ssh.identityFile = fallback.identity;
  }
  if (ssh.identityFile && !fs.existsSync(ssh.identityFile)) {
    throw new LinusError({ code: 'CONFIG_INVALID', message: `--identity ${ssh.identityFile} does not exist`, remediation: 'Pass the path of your private key file.' });
  }
  return ssh;
}

// Resolves where to connect: a real host from flags/env/config, or a throwaway sandbox.
export async function withTarget<T>(flags: TargetFlags, sources: Sources, fn: (resolved: ResolvedTarget) => Promise<T>): Promise<T> {
  // --node-address is repeatable, so the flag is singular; the setting holds them all.
  const flagValues: Record<string, unknown> = { ...sources.flags, nodeAddresses: sources.flags.nodeAddress };
  const targetFlags = Object.fromEntries(TARGET_KEYS.filter((key) => flagValues[key] !== undefined).map((key) => [key, flagValues[key]]));
  if (!flags.sandbox) {
    if (!hostGiven({ ...sources, flags: targetFlags })) {
      throw new LinusError({ code: 'INVALID_SPEC', message: '--host: is required (or --sandbox for a simulated host)', remediation: "Pass --host, set LINUS_HOST, use --config or --profile ('linus config init' writes one)." });
    }
    const target = parseSettings(targetSchema, { ...sources, flags: targetFlags });
    return fn({ target, ssh: sshTargetOf(target, sources.env), specDefaults: () => ({}) });
  }
  // The simulator loads only for --sandbox.
  const { withSandboxTarget } = await import('./sandbox-target.js');
  return withSandboxTarget(targetFlags, fn);
}
