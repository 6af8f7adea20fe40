import type { ToolContext } from './context.js';
import { canonicalJson, perlPrettyJson } from './json-pretty.js';

// CLIFormatter `print_api_result`: json (compact, canonical), json-pretty (JSON::XS pretty) and
// text. Text tables are a plain approximation of PVE's bordered tables; scripts should use JSON.
export function printApiResult(ctx: ToolContext, data: unknown, format: string): void {
  if (format === 'json') {
    ctx.out(`${canonicalJson(data)}\n`);
    return;
  }
  if (format === 'json-pretty') {
    ctx.out(`${perlPrettyJson(data)}\n`);
    return;
  }
  if (data === undefined || data === null) return;
  if (typeof data !== 'object') {
    ctx.out(`${String(data)}\n`);
    return;
  }
  const rows: Array<Record<string, unknown>> = Array.isArray(data)
    ? (data as Array<Record<string, unknown>>)
    : Object.keys(data)
        .sort()
        .map((key) => ({ key, value: (data as Record<string, unknown>)[key] }));
  if (rows.length === 0) return;
  const columns = Array.isArray(data) ? [...new Set(rows.flatMap((row) => Object.keys(row)))].sort() : ['key', 'value'];
  const cell = (value: unknown) => (value === undefined ? '' : typeof value === 'object' ? canonicalJson(value) : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (left: string, mid: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}\n`;
  const render = (values: string[]) => `│ ${values.map((value, i) => value.padEnd(widths[i] ?? 0)).join(' │ ')} │\n`;
  let out = line('┌', '┬', '┐') + render(columns) + line('╞', '╪', '╡').replaceAll('─', '═');
  out += rows.map((row) => render(columns.map((column) => cell(row[column])))).join('');
  out += line('└', '┴', '┘');
  ctx.out(out);
}
