import type { ToolContext } from './context.js';
import { ParamError, PveDie } from './die.js';
import { getOptions, validateParams } from './getopt.js';
import type { Props } from './param-schema.js';
import { printApiResult } from './pvesh-format.js';
import { findGetHandler } from './pvesh-routes.js';

const USAGE = 'pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]';
const FORMAT_PROPS: Props = {
  'output-format': { type: 'string', optional: true, enum: ['text', 'json', 'json-pretty', 'yaml'] },
  noborder: { type: 'boolean', optional: true },
  noheader: { type: 'boolean', optional: true },
  quiet: { type: 'boolean', optional: true },
  'human-readable': { type: 'boolean', optional: true },
};

// pve-manager PVE/CLI/pvesh.pm, GET only: `pvesh get <path> [handler options] [format options]`.
export async function runPvesh(ctx: ToolContext, args: string[]): Promise<number> {
  const [verb, apiPath, ...rest] = args;
  if (verb !== 'get') {
    const known = ['create', 'delete', 'help', 'ls', 'set', 'usage'];
    if (verb !== undefined && known.includes(verb) && apiPath !== undefined) {
      ctx.err(`No '${verb === 'ls' ? 'get' : verb}' handler defined for '${apiPath}'\n`);
      return 1;
    }
    ctx.err(`ERROR: unknown command 'pvesh ${verb ?? ''}'\nUSAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n\n       ${USAGE}\n`);
    return 255;
  }
  ctx.command = 'get';
  try {
    if (apiPath === undefined) throw new ParamError('not enough arguments\n');
    const route = findGetHandler(apiPath);
    if (!route) {
      ctx.err(`No 'get' handler defined for '${apiPath}'\n`);
      return 1;
    }
    const props: Props = { ...route.props, ...FORMAT_PROPS };
    const params = getOptions(rest, props, []);
    validateParams(params, props);
    const data = await route.handler(ctx, route.pathParams, params);
    printApiResult(ctx, data, params['output-format'] ?? 'text');
    return 0;
  } catch (error) {
    if (error instanceof ParamError) error.usage = `${USAGE}\n`;
    if (error instanceof PveDie && error.exitCode === 2) throw new PveDie(error.message, 255);
    throw error;
  }
}
