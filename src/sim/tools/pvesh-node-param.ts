import type { ToolContext } from './context.js';
import { PveDie } from './die.js';

// The {node} of an API path: `localhost` is this node; an unknown name fails the proxy lookup and
// an offline node cannot be reached (both texts are approximations, see docs/simulator.md).
export function resolveNode(ctx: ToolContext, node: string): string {
  const name = node === 'localhost' ? ctx.node : node;
  const entry = ctx.settings.nodes.find((candidate) => candidate.name === name);
  if (!entry) throw new PveDie(`hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`);
  return name;
}

export function nodeOnline(ctx: ToolContext, name: string): boolean {
  const entry = ctx.settings.nodes.find((candidate) => candidate.name === name);
  return entry !== undefined && entry.online && !(ctx.faults.offlineNodes ?? []).includes(name);
}

export function assertReachable(ctx: ToolContext, name: string): void {
  if (name !== ctx.node && !nodeOnline(ctx, name)) throw new PveDie(`500 Can't connect to ${name}:8006 (No route to host)`);
}
