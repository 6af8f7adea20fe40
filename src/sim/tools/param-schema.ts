// JSONSchema.pm `check_prop` for the scalar parameters qm/pvesh take: the same checks in the same
// order (type, format, pattern, maxLength, min/max, enum) with the same messages.
export interface Prop {
  type: 'string' | 'integer' | 'number' | 'boolean';
  optional?: boolean;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  pattern?: RegExp;
  maxLength?: number;
  // A registered format: throws an Error whose message is the Perl die text (usually ending in \n).
  format?: (value: string, path: string) => void;
  // Getopt takes the value as optional (`name:s`), e.g. an interactive password.
  optionalValue?: boolean;
  // `-list` formats may be repeated (`--delete a --delete b`) and are joined with commas.
  list?: boolean;
}

export type Props = Record<string, Prop>;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function checkProp(path: string, prop: Prop, value: string, errors: Record<string, string>): void {
  if (prop.type === 'integer' && !/^[+-]?\d+$/.test(value)) {
    errors[path] = `type check ('integer') failed - got '${value}'`;
    return;
  }
  if (prop.type === 'number' && !NUMBER.test(value)) {
    errors[path] = `type check ('number') failed - got '${value}'`;
    return;
  }
  if (prop.type === 'boolean' && value !== '0' && value !== '1') {
    errors[path] = `type check ('boolean') failed - got '${value}'`;
    return;
  }
  if (prop.format) {
    try {
      prop.format(value, path);
    } catch (error) {
      errors[path] = `invalid format - ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
  }
  if (prop.pattern && !prop.pattern.test(value)) {
    errors[path] = 'value does not match the regex pattern';
    return;
  }
  if (prop.maxLength !== undefined && value.length > prop.maxLength) {
    errors[path] = `value may only be ${prop.maxLength} characters long`;
    return;
  }
  if (NUMBER.test(value)) {
    if (prop.maximum !== undefined && Number(value) > prop.maximum) {
      errors[path] = `value must have a maximum value of ${prop.maximum}`;
      return;
    }
    if (prop.minimum !== undefined && Number(value) < prop.minimum) {
      errors[path] = `value must have a minimum value of ${prop.minimum}`;
      return;
    }
  }
  if (prop.enum && !prop.enum.includes(value)) {
    errors[path] = `value '${value}' does not have a value in the enumeration '${prop.enum.join(', ')}'`;
  }
}

// `parse_boolean`: the spellings Getopt options and property strings accept.
export function parseBoolean(value: string): 0 | 1 | undefined {
  if (/^(1|on|yes|true)$/i.test(value)) return 1;
  if (/^(0|off|no|false)$/i.test(value)) return 0;
  return undefined;
}
