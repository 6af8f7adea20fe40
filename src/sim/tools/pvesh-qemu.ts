import crypto from 'node:crypto';
import fs from 'node:fs';
import type { ToolContext } from './context.js';
import { paramExc, PveDie } from './die.js';
import { checkProp } from './param-schema.js';
import { parsePropertyString } from './property-string.js';
import type { GetHandler } from './pvesh-routes.js';
import { assertReachable, resolveNode } from './pvesh-node-param.js';
import { AGENT_COMMANDS, callAgent } from './qm-guest-cmd.js';
import { VM_CONFIG_PROPS, VMID_PROP } from './vm-schema.js';
import { vmStatus } from './vm-status.js';
import { clusterVmlist, loadConfig, readConfig } from './vm-store.js';

// API paths under /nodes/{node}/qemu run as on that node (pvesh proxies them there).
function onNode(ctx: ToolContext, node: string | undefined): ToolContext {
  const name = resolveNode(ctx, node ?? '');
  assertReachable(ctx, name);
  return { ...ctx, node: name };
}

function vmidParam(vmid: string | undefined): number {
  const errors: Record<string, string> = {};
  checkProp('vmid', VMID_PROP, vmid ?? '', errors);
  if (Object.keys(errors).length > 0) throw paramExc(errors);
  return Number(vmid);
}

export const qemuList: GetHandler = async (ctx, pathParams) => {
  const local = onNode(ctx, pathParams.node);
  const out: unknown[] = [];
  for (const { vmid } of clusterVmlist(local.paths, [local.node])) {
    const config = readConfig(local.paths, local.node, vmid);
    if (config) out.push({ ...vmStatus(local, vmid, config), cpu: 0 });
  }
  return out;
};

function agentEnabled(value: string | undefined): boolean {
  if (value === undefined) return false;
  const parsed = parsePropertyString(value);
  return /^(1|on|yes|true)$/i.test(parsed.keys.enabled ?? parsed.head ?? '0');
}

export const qemuStatus: GetHandler = async (ctx, pathParams) => {
  const local = onNode(ctx, pathParams.node);
  const vmid = vmidParam(pathParams.vmid);
  const config = loadConfig(local, vmid);
  const status: Record<string, unknown> = { ...vmStatus(local, vmid, config), cpu: 0, ha: { managed: 0 } };
  if (agentEnabled(config.values.agent)) status.agent = 1;
  return status;
};

// vm_config: values typed as the schema types them (JSON numbers for integers and booleans).
export const qemuConfig: GetHandler = async (ctx, pathParams, params) => {
  const local = onNode(ctx, pathParams.node);
  const vmid = vmidParam(pathParams.vmid);
  const config = loadConfig(local, vmid);
  const values: Record<string, string> = { ...config.values };
  if (params.current !== '1') {
    const { delete: deleted = '', ...pending } = config.pending.values;
    Object.assign(values, pending);
    for (const key of deleted.split(',').filter(Boolean)) delete values[key];
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const type = VM_CONFIG_PROPS[key]?.type;
    out[key] = (type === 'integer' || type === 'number' || type === 'boolean') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  if (config.description !== undefined) out.description = config.description;
  if (out.cipassword) out.cipassword = '**********';
  out.digest = crypto.createHash('sha1').update(fs.readFileSync(local.paths.vmConfig(local.node, vmid))).digest('hex');
  return out;
};

export const qemuAgent: GetHandler = async (ctx, pathParams) => {
  const local = onNode(ctx, pathParams.node);
  const vmid = vmidParam(pathParams.vmid);
  const command = pathParams.command ?? '';
  if (!(AGENT_COMMANDS as readonly string[]).includes(command)) {
    throw new PveDie(`No 'get' handler defined for '/nodes/${pathParams.node ?? ''}/qemu/${vmid}/agent/${command}'`, 1);
  }
  return { result: await callAgent(local, vmid, command) };
};
