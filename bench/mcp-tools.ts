// The size of linus mcp's tool list as a client receives it (tools/list: names, descriptions,
// input and output schemas, annotations), in approximate tokens (characters / 4): it sits in the
// agent's context on every turn.
import { registeredTools } from '../src/mcp/server.js';

const TARGET_TOKENS = 4000;
const tokens = (value: unknown) => Math.round(JSON.stringify(value).length / 4);

const all = await registeredTools();
const readOnly = await registeredTools({ readOnly: true });
const total = tokens(all);
const largest = [...all].sort((a, b) => tokens(b) - tokens(a)).slice(0, 3).map((tool) => `${tool.name} ${tokens(tool)}`);
process.stdout.write(`linus mcp tool list: ${all.length} tools, about ${total} tokens (--read-only: ${readOnly.length} tools, ${tokens(readOnly)}); largest: ${largest.join(', ')}\n`);
process.stdout.write(`${total < TARGET_TOKENS ? 'met    ' : 'MISSED '} all tools together under ${TARGET_TOKENS} tokens (${total})\n`);
process.stdout.write(`${JSON.stringify({ mcpTools: { tools: all.length, tokens: total, readOnlyTools: readOnly.length, readOnlyTokens: tokens(readOnly) } })}\n\n`);
