import { dispatch, type CommandRun, type CommandTree } from './command-table.js';
import type { ToolContext } from './context.js';

// The `qm` subcommands the simulator implements (qemu-server PVE/CLI/qm.pm `$cmddef`).
const cmd = (usage: string, load: () => Promise<CommandRun>) => ({ usage, load });

const QM: CommandTree = {
  clone: cmd('qm clone <vmid> <newid> [OPTIONS]', async () => (await import('./qm-clone.js')).run),
  config: cmd('qm config <vmid> [OPTIONS]', async () => (await import('./qm-config.js')).run),
  create: cmd('qm create <vmid> [OPTIONS]', async () => (await import('./qm-create.js')).run),
  destroy: cmd('qm destroy <vmid> [OPTIONS]', async () => (await import('./qm-destroy.js')).run),
  disk: {
    import: cmd('qm disk import <vmid> <source> <storage> [OPTIONS]', async () => (await import('./qm-disk-import.js')).run),
    resize: cmd('qm disk resize <vmid> <disk> <size> [OPTIONS]', async () => (await import('./qm-disk-resize.js')).run),
  },
  guest: {
    cmd: cmd('qm guest cmd <vmid> <command>', async () => (await import('./qm-guest-cmd.js')).run),
  },
  list: cmd('qm list  [OPTIONS]', async () => (await import('./qm-list.js')).run),
  reboot: cmd('qm reboot <vmid> [OPTIONS]', async () => (await import('./qm-reboot.js')).run),
  set: cmd('qm set <vmid> [OPTIONS]', async () => (await import('./qm-set.js')).run),
  shutdown: cmd('qm shutdown <vmid> [OPTIONS]', async () => (await import('./qm-shutdown.js')).run),
  start: cmd('qm start <vmid> [OPTIONS]', async () => (await import('./qm-start.js')).run),
  status: cmd('qm status <vmid> [OPTIONS]', async () => (await import('./qm-status.js')).run),
  stop: cmd('qm stop <vmid> [OPTIONS]', async () => (await import('./qm-stop.js')).run),
  template: cmd('qm template <vmid> [OPTIONS]', async () => (await import('./qm-template.js')).run),
  unlock: cmd('qm unlock <vmid>', async () => (await import('./qm-unlock.js')).run),
  agent: { alias: 'guest cmd' },
  importdisk: { alias: 'disk import' },
  resize: { alias: 'disk resize' },
};

export function runQm(ctx: ToolContext, args: string[]): Promise<number> {
  return dispatch(ctx, 'qm', QM, args);
}
