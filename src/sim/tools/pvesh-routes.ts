import type { ToolContext } from './context.js';
import type { Props } from './param-schema.js';

// The GET handlers the simulated API tree has. A handler gets the path parameters and the options.
export type GetHandler = (ctx: ToolContext, pathParams: Record<string, string>, params: Record<string, string>) => Promise<unknown>;

interface Route {
  pattern: string;
  props: Props;
  load: () => Promise<GetHandler>;
}

const str = { type: 'string', optional: true } as const;
const bool = { type: 'boolean', optional: true } as const;

const ROUTES: Route[] = [
  { pattern: '/cluster/nextid', props: { vmid: { type: 'integer', optional: true, minimum: 1 } }, load: async () => (await import('./pvesh-cluster.js')).nextid },
  { pattern: '/cluster/resources', props: { type: { type: 'string', optional: true, enum: ['vm', 'storage', 'node', 'sdn'] } }, load: async () => (await import('./pvesh-cluster.js')).resources },
  { pattern: '/nodes', props: {}, load: async () => (await import('./pvesh-nodes.js')).nodes },
  { pattern: '/nodes/{node}/status', props: {}, load: async () => (await import('./pvesh-nodes.js')).nodeStatus },
  { pattern: '/nodes/{node}/version', props: {}, load: async () => (await import('./pvesh-nodes.js')).nodeVersion },
  {
    pattern: '/nodes/{node}/network',
    props: { type: { type: 'string', optional: true, enum: ['bridge', 'bond', 'eth', 'alias', 'vlan', 'fabric', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet', 'any_bridge', 'any_local_bridge', 'include_sdn'] } },
    load: async () => (await import('./pvesh-nodes.js')).networkList,
  },
  { pattern: '/nodes/{node}/network/{iface}', props: {}, load: async () => (await import('./pvesh-nodes.js')).networkIface },
  { pattern: '/storage', props: { type: str }, load: async () => (await import('./pvesh-storage.js')).storageIndex },
  { pattern: '/storage/{storage}', props: {}, load: async () => (await import('./pvesh-storage.js')).storageRead },
  { pattern: '/nodes/{node}/storage', props: { content: str, enabled: bool, format: bool, storage: str, target: str }, load: async () => (await import('./pvesh-storage.js')).nodeStorageList },
  { pattern: '/nodes/{node}/storage/{storage}/status', props: {}, load: async () => (await import('./pvesh-storage.js')).nodeStorageStatus },
  { pattern: '/nodes/{node}/qemu', props: { full: bool }, load: async () => (await import('./pvesh-qemu.js')).qemuList },
  { pattern: '/nodes/{node}/qemu/{vmid}/status/current', props: {}, load: async () => (await import('./pvesh-qemu.js')).qemuStatus },
  { pattern: '/nodes/{node}/qemu/{vmid}/config', props: { current: bool, snapshot: str }, load: async () => (await import('./pvesh-qemu.js')).qemuConfig },
  { pattern: '/nodes/{node}/qemu/{vmid}/agent/{command}', props: {}, load: async () => (await import('./pvesh-qemu.js')).qemuAgent },
];

export function findGetHandler(apiPath: string): { props: Props; pathParams: Record<string, string>; handler: GetHandler } | undefined {
  const parts = apiPath.split('/').filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.pattern.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const pathParams: Record<string, string> = {};
    const matches = pattern.every((segment, index) => {
      const part = parts[index] as string;
      if (segment.startsWith('{')) {
        pathParams[segment.slice(1, -1)] = part;
        return true;
      }
      return segment === part;
    });
    if (matches) {
      const { load } = route;
      return { props: route.props, pathParams, handler: async (ctx, pp, params) => (await load())(ctx, pp, params) };
    }
  }
  return undefined;
}
