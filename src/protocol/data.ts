import { z } from 'zod';
import { patternSchema } from '../config/rules.js';
import { LinusError } from './errors.js';

// The LINUS_DATA objects of docs/vm.md and docs/doctor.md, checked at the boundary: a host that
// sends something else is a PROTOCOL_ERROR, never a cast.

export function parseData<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new LinusError({ code: 'PROTOCOL_ERROR', message: `unexpected ${what} from the host: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}` });
  }
  return parsed.data;
}

const base = { id: z.number().int(), node: z.string(), name: z.string() };
const view = z.object({ config: z.record(z.string(), z.string()), pending: z.record(z.string(), z.string().nullable()) });

export const powerSchema = z.object({ ...base, op: z.enum(['start', 'stop', 'shutdown', 'reboot']), changed: z.boolean(), state: z.string(), forced: z.boolean() });
export const statusSchema = z.object({ ...base, op: z.literal('status'), state: z.string(), linus: z.boolean(), template: z.boolean(), lock: z.string().nullable() });
export const configSchema = z.object({ ...base, op: z.literal('config'), linus: z.boolean(), view });
export const setSchema = z.object({ ...base, op: z.literal('set'), changed: z.boolean(), applied: z.array(z.string()), pending: z.array(z.string()), view });
export const resizeSchema = z.object({ ...base, op: z.literal('resize'), disk: z.string(), changed: z.boolean(), beforeBytes: z.number(), sizeBytes: z.number() });
export const deleteSchema = z.object({ ...base, op: z.literal('delete'), changed: z.boolean(), stopped: z.boolean(), volumes: z.array(z.string()) });
export const adoptSchema = z.object({ ...base, op: z.literal('adopt'), fleet: z.string(), changed: z.boolean(), tags: z.array(z.string()), droppedRuns: z.array(z.string()) });

export const listRowSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  node: z.string(),
  status: z.string(),
  cores: z.number(),
  memoryMiB: z.number(),
  diskGiB: z.number(),
  ip: z.string().nullable(),
  linus: z.boolean(),
  template: z.boolean(),
  lock: z.string().nullable(),
  tags: z.array(z.string()),
  // With `list --configs TAG`, for the VMs carrying TAG: the config as `pvesh get .../config` gives
  // it (pending changes applied, the description decoded), every value a string.
  config: z.record(z.string(), z.string()).optional(),
});

// A VM that has a name a provision asks for (`vm.sh place --names`): a list row, its type (a CT
// is never linus'), and the first line of its description (the recorded spec), read for linus VMs
// under --reuse only.
export const existingRowSchema = listRowSchema.extend({ type: z.enum(['qemu', 'lxc']), spec: z.string().nullable() });

// names/existing come with --names: the names to create (one node each) and the VMs that have one.
// facts: what the jobs of the VMs placed on the local node take instead of reading it again.
export const placeSchema = z.object({
  op: z.literal('place'),
  nodes: z.array(z.string()),
  local: z.string().optional(),
  names: z.array(z.string()).optional(),
  existing: z.array(existingRowSchema).optional(),
  facts: patternSchema('placedFacts').optional(),
});

export const capacityRowSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('node'),
    node: z.string(),
    status: z.string(),
    cpus: z.number(),
    cpuPercent: z.number(),
    memoryBytes: z.number(),
    memoryUsedBytes: z.number(),
    memoryPercent: z.number(),
    vms: z.number(),
    vmsRunning: z.number(),
  }),
  z.object({
    kind: z.literal('storage'),
    node: z.string(),
    storage: z.string(),
    type: z.string(),
    status: z.string(),
    shared: z.boolean(),
    content: z.string(),
    totalBytes: z.number(),
    usedBytes: z.number(),
    usedPercent: z.number(),
  }),
]);

// `vm.sh fleet-state`: a guest of the fleet or named like one of its VMs, with the config keys a
// plan compares (pending changes applied; null for a container) and the keys waiting for a reboot.
export const fleetVmSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    node: z.string(),
    type: z.enum(['qemu', 'lxc']),
    status: z.string(),
    tags: z.array(z.string()),
    config: z.record(z.string(), z.string()).nullable(),
    pending: z.array(z.string()),
  })
  .strict();

export type ListRow = z.infer<typeof listRowSchema>;
export type FleetVmRow = z.infer<typeof fleetVmSchema>;
export type CapacityRow = z.infer<typeof capacityRowSchema>;
export type ExistingRow = z.infer<typeof existingRowSchema>;

// `vm.sh doctor`: one check each, the safe fixes `--fix` may apply, and one host record.
const checkIdSchema = z.string().regex(/^[a-z][a-z0-9-]*(\.[A-Za-z0-9_.-]+)*$/);

export const checkSchema = z
  .object({
    kind: z.literal('check'),
    id: checkIdSchema,
    // skip: not checked, because a check it depends on failed.
    status: z.enum(['ok', 'warn', 'fail', 'skip']),
    message: z.string(),
    fix: z.string().nullable(),
  })
  .strict();

// A fix `--fix` may apply: snippets added to a storage that keeps every other content type.
export const safeFixSchema = z
  .object({
    kind: z.literal('fix'),
    id: checkIdSchema,
    storage: patternSchema('storage'),
    content: z.string().regex(/^[a-z]+(,[a-z]+)*$/),
    command: z.string(),
  })
  .strict();

const doctorHostSchema = z.object({ kind: z.literal('host'), node: z.string(), time: z.number().int() }).strict();

export const doctorRecordSchema = z.discriminatedUnion('kind', [checkSchema, safeFixSchema, doctorHostSchema]);

export const fixResultSchema = z
  .object({ op: z.literal('doctor-fix'), storage: z.string(), content: z.string(), changed: z.boolean() })
  .strict();
