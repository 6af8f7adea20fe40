const UNITS = ['K', 'M', 'G', 'T'] as const;

// JSONSchema.pm `format_size`: the largest unit that divides exactly, else plain bytes.
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = '';
  for (const next of UNITS) {
    if (value === 0 || value % 1024 !== 0) break;
    value /= 1024;
    unit = next;
  }
  return `${value}${unit}`;
}

// Drive `size=` values and `qm resize` sizes: a number with an optional K/M/G/T suffix (1024^n).
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!match) return undefined;
  const power = match[2] ? UNITS.indexOf(match[2] as (typeof UNITS)[number]) + 1 : 0;
  return Math.round(Number(match[1]) * 1024 ** power);
}

// pve-common Format.pm `render_bytes($x, 1)`: one decimal, binary units. LVM2 shows sizes the
// same way with two decimals.
export function renderBytes(bytes: number, decimals = 1): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024;
    index += 1;
  }
  return `${value.toFixed(decimals)} ${units[index]}`;
}
