import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { errorText, toLinusError } from '../protocol/errors.js';
import type { ErrorReport } from '../protocol/transcript.js';

// A tool's answer: structuredContent is the object `--json` prints (jobs/json.ts, ops/json.ts);
// the text is a short rendering of it. A failure is a result with isError, never a protocol error.

// The host's VM_NOT_OWNED remediation names the CLI's --foreign; the server has its own switch.
const MCP_REMEDIATION: Partial<Record<string, string>> = {
  VM_NOT_OWNED: "linus only changes VMs it created (tag 'linus'): the server must be started with --allow-foreign to act on this VM.",
};

function forMcp(error: ErrorReport): ErrorReport {
  const remediation = MCP_REMEDIATION[error.code];
  return remediation === undefined ? error : { ...error, remediation };
}

export function okResult(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

// A failure the host or a job reported, in the shape of its --json object ({ ok: false, error, ... }).
export function failedResult(structured: Record<string, unknown> & { error: ErrorReport }, text = ''): CallToolResult {
  const error = forMcp(structured.error);
  return { content: [{ type: 'text', text: `${text}${errorText(error)}` }], structuredContent: { ...structured, error }, isError: true };
}

// A thrown error (bad arguments, no connection, a refusal); a defect's stack goes to the log.
export function errorResult(error: unknown, log: (line: string) => void): CallToolResult {
  const linusError = toLinusError(error);
  if (linusError.isDefect) log(`internal error: ${(linusError.cause instanceof Error ? linusError.cause.stack : linusError.stack) ?? linusError.message}`);
  return failedResult({ ok: false, error: linusError.toJSON() });
}

// The output schemas name only what an agent reads first; the objects carry more (warnings,
// stats). A success's fields are optional because a failure answers in the same schema
// ({ ok: false, error }): clients validate both. The schema is loose, so `error` passes without
// being spelled out in every tool's schema (the tool list stays small for the agent's context).
export function outputSchema(fields: z.ZodRawShape): z.ZodObject {
  const optional = Object.fromEntries(Object.entries(fields).map(([key, schema]) => [key, (schema as z.ZodType).optional()]));
  return z.looseObject({ ok: z.boolean(), ...optional });
}
