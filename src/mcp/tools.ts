import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Sources } from '../config/load.js';
import type { Target } from '../config/spec.js';
import type { OpsDeps } from '../ops/run-op.js';
import type { SshTarget } from '../ssh/connection.js';

// The one table of the tools' annotations. tests/integration/mcp/tools.test.ts checks each row
// against what the tool does to the simulated host: a read-only tool changes nothing, a
// destructive one removes or overwrites something, an idempotent one called twice leaves the
// state of one call. openWorld: only provision_vm and apply_fleet reach past the Proxmox host (image downloads).
const read = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

export const TOOL_ANNOTATIONS = {
  provision_vm: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  list_vms: read,
  get_vm: read,
  start_vm: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // Pulls the plug: what the guest had not written is lost.
  stop_vm: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  shutdown_vm: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // A second call reboots the VM again.
  reboot_vm: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  // The old name, description or tags are overwritten.
  update_vm: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  // Disks only grow; "+10" grows again on a second call.
  resize_vm_disk: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  clone_vm: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  delete_vm: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  get_capacity: read,
  find_leftovers: read,
  clean_leftovers: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  plan_fleet: read,
  // Deletes (prune) and replaces; the same file a second time changes nothing; creates download images.
  apply_fleet: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
} as const satisfies Record<string, ToolAnnotations>;

export type ToolName = keyof typeof TOOL_ANNOTATIONS;

export const READ_TOOLS = (Object.keys(TOOL_ANNOTATIONS) as ToolName[]).filter((name) => TOOL_ANNOTATIONS[name].readOnlyHint);

// Where the server reaches the host, resolved once at start-up as the CLI resolves it.
export interface McpTarget {
  target: Target;
  ssh: SshTarget;
  // Defaults the target brings for a VM spec (the sandbox's key and image).
  specDefaults(flags: Record<string, unknown>): Record<string, unknown>;
}

// What every tool shares: the target, the pooled connection, the server's switches.
export interface ToolContext {
  resolved: McpTarget;
  // Environment and --config: a provision's VM settings default from them as the CLI's do.
  sources: Sources;
  ops: OpsDeps;
  allowForeign: boolean;
  log(line: string): void;
}

// What one call brings besides its arguments.
export interface CallContext {
  signal: AbortSignal;
  // Present when the request carries a progress token.
  progress?: (progress: number, total: number, message: string) => void;
  // Asks the user yes or no through the client; undefined when the client cannot be asked.
  ask?: (message: string) => Promise<boolean>;
}

export interface ToolDef<S extends z.ZodObject = z.ZodObject> {
  name: ToolName;
  description: string;
  input: S;
  output: z.ZodObject;
  run(args: z.infer<S>, call: CallContext): Promise<CallToolResult>;
}

// Keeps each tool's argument type while the list holds tools of many schemas.
export function defineTool<S extends z.ZodObject>(tool: ToolDef<S>): ToolDef {
  return tool as unknown as ToolDef;
}
