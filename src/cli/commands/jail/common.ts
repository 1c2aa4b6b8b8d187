/** What every `jail` command shares: option helpers (the client comes from cli/agent-client.ts). */
import { UserError } from '../../../sys/errors.js';

/** For repeatable options: `--env A=1 --env B=2` -> ['A=1', 'B=2']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The command after `--`; refused when missing. */
export function commandAfterDashes(argv: string[] | undefined, usage: string): string[] {
  if (!argv || argv.length === 0) {
    throw new UserError('the command to run is missing', `put it after "--", for example: ${usage}`);
  }
  return argv;
}

/** A whole number of seconds or lines given on the command line. */
export function wholeNumberOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UserError(`${flag}: expected a whole number, got ${JSON.stringify(value)}`, `write ${flag} 10`);
  return Number(value);
}

/** Only the options that were given, so the agent applies its own defaults to the rest. */
export function given<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as Partial<T>;
}
