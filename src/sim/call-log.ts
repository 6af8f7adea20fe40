import { z } from 'zod';

// One line of sim/calls.jsonl per tool invocation: tests and benchmarks read it back.
export const callRecordSchema = z
  .object({
    time: z.string(),
    tool: z.string(),
    argv: z.array(z.string()),
    exitCode: z.number().int(),
    durationMs: z.number().nonnegative(),
    node: z.string(),
  })
  .strict();

export type CallRecord = z.infer<typeof callRecordSchema>;
