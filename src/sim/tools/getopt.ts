import { ParamError, paramExc } from './die.js';
import { checkProp, parseBoolean, type Props } from './param-schema.js';

// JSONSchema.pm `get_options` on top of Getopt::Long: `--opt v` or `-opt v`, `--opt=v`, unique
// abbreviations, case-insensitive names, `:s` for booleans, `--` ends options. qm turns off the `+`
// prefix, so `+10G` is a plain argument. Returns every value as a string (booleans as 0/1).
export function getOptions(argv: readonly string[], props: Props, argNames: readonly string[]): Record<string, string> {
  const optionNames = Object.keys(props).filter((name) => !argNames.includes(name));
  const values: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  const positionals: string[] = [];
  const rest = [...argv];
  while (rest.length > 0) {
    const arg = rest.shift() as string;
    if (arg === '--') {
      positionals.push(...rest.splice(0));
      break;
    }
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!match || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const given = match[1] as string;
    const name = resolveOption(given, optionNames);
    const prop = props[name];
    if (prop === undefined) throw new ParamError('unable to parse option\n');
    let value = match[2];
    const takesOptional = prop.type === 'boolean' || prop.optionalValue === true;
    if (value === undefined) {
      const next = rest[0];
      if (takesOptional) {
        value = next !== undefined && !/^--?.+/.test(next) ? (rest.shift() as string) : '';
      } else if (next === undefined) {
        throw new ParamError('unable to parse option\n', {}, `Option ${given} requires an argument\n`);
      } else {
        value = rest.shift() as string;
      }
    }
    if (prop.list) (lists[name] ??= []).push(value);
    else values[name] = value;
  }
  for (const [name, list] of Object.entries(lists)) values[name] = list.join(',');

  if (positionals.length < argNames.length) throw new ParamError('not enough arguments\n');
  if (positionals.length > argNames.length) throw new ParamError('too many arguments\n');
  argNames.forEach((name, index) => {
    values[name] = positionals[index] as string;
  });

  for (const [name, value] of Object.entries(values)) {
    const prop = props[name];
    if (prop?.type !== 'boolean' || argNames.includes(name)) continue;
    const bool = value === '' ? 1 : parseBoolean(value);
    if (bool === undefined) throw new ParamError('unable to parse boolean option\n');
    values[name] = String(bool);
  }
  return values;
}

// Getopt::Long's ignore_case keys its table by lowercased names, so `--forcestop` and `--forceStop`
// both reach `forceStop`.
function resolveOption(given: string, names: readonly string[]): string {
  const lower = given.toLowerCase();
  const exact = names.find((name) => name.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  const candidates = names.filter((name) => name.toLowerCase().startsWith(lower));
  if (candidates.length === 1) return candidates[0] as string;
  const shown = candidates.map((name) => name.toLowerCase()).sort();
  const preface = candidates.length === 0 ? `Unknown option: ${lower}\n` : `Option ${lower} is ambiguous (${shown.join(', ')})\n`;
  throw new ParamError('unable to parse option\n', {}, preface);
}

// The handler's schema check (RESTHandler `handle` → `validate`): all errors in one 400.
export function validateParams(values: Record<string, string>, props: Props): void {
  const errors: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    const prop = props[name];
    if (prop) checkProp(name, prop, value, errors);
  }
  for (const [name, prop] of Object.entries(props)) {
    if (!prop.optional && values[name] === undefined && errors[name] === undefined) {
      errors[name] = 'property is missing and it is not optional';
    }
  }
  if (Object.keys(errors).length > 0) throw paramExc(errors);
}

export function parseParams(argv: readonly string[], props: Props, argNames: readonly string[]): Record<string, string> {
  const values = getOptions(argv, props, argNames);
  validateParams(values, props);
  return values;
}
