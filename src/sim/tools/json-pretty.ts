// JSON::XS `pretty => 1, canonical => 1`: 3-space indent, `"key" : value`, sorted keys.
export function perlPrettyJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = `${indent}   `;
    return `[\n${value.map((item) => `${inner}${perlPrettyJson(item, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    const inner = `${indent}   `;
    const record = value as Record<string, unknown>;
    return `{\n${keys.map((key) => `${inner}${JSON.stringify(key)} : ${perlPrettyJson(record[key], inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// JSON::XS canonical compact output (sorted keys).
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
