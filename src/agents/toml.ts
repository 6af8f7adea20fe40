// A small TOML writer for the one shape ssh-mcp's config needs: commented tables and arrays of
// tables holding strings, integers and booleans. Anything else is refused rather than guessed.

export type TomlValue = string | number | boolean;

export interface TomlEntry {
  key: string;
  value: TomlValue;
  // Written on the line above the entry.
  comment?: string;
}

export interface TomlTable {
  // `defaults` becomes [defaults]; with array: true, `profiles` becomes [[profiles]].
  name: string;
  array?: boolean;
  comment?: string;
  entries: TomlEntry[];
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function assertKey(key: string): void {
  if (!BARE_KEY.test(key)) throw new Error(`TOML key '${key}' is not a bare key`);
}

// A TOML basic string: backslash, quote and every control character escaped.
export function tomlString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\t') out += '\\t';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function tomlValue(value: TomlValue): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return String(value);
  if (!Number.isSafeInteger(value)) throw new Error(`TOML value ${value} is not a safe integer`);
  return String(value);
}

function commentLines(text: string): string[] {
  return text.split('\n').map((line) => (line === '' ? '#' : `# ${line}`));
}

export function renderToml(tables: readonly TomlTable[], header?: string): string {
  const out: string[] = header === undefined ? [] : [...commentLines(header), ''];
  for (const table of tables) {
    assertKey(table.name);
    if (table.comment !== undefined) out.push(...commentLines(table.comment));
    out.push(table.array ? `[[${table.name}]]` : `[${table.name}]`);
    for (const entry of table.entries) {
      assertKey(entry.key);
      if (entry.comment !== undefined) out.push(...commentLines(entry.comment));
      out.push(`${entry.key} = ${tomlValue(entry.value)}`);
    }
    out.push('');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
