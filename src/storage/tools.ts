/**
 * The check a storage driver makes of its tools (STYLE.md §6): once per driver, with a message
 * that names the missing tool and the Debian package providing it. A failed check is repeated
 * next time (the user may have installed the package meanwhile). `hostTools` is this process's
 * check of this host; a test passes a ToolCheck of its own with a stand-in `has`.
 */
import { UserError } from '../sys/errors.js';
import { hasTool } from '../sys/exec.js';

export interface ToolReq {
  tool: string;
  pkg: string;
}

/** Throws a UserError naming the first missing tool and the package that provides it. */
export async function requireTools(driver: string, tools: readonly ToolReq[], has: (tool: string) => Promise<boolean>): Promise<void> {
  for (const t of tools) {
    if (!(await has(t.tool))) {
      throw new UserError(`${t.tool} is not installed; the ${driver} storage driver needs it`, `install it with: apt-get install ${t.pkg} (or run: cellblock host bootstrap)`);
    }
  }
}

/** Checks each driver's tools once; a failed check is forgotten, so the next call checks again. */
export class ToolCheck {
  private readonly checked = new Map<string, Promise<void>>();

  constructor(private readonly has: (tool: string) => Promise<boolean> = hasTool) {}

  check(driver: string, tools: readonly ToolReq[]): Promise<void> {
    const key = `${driver}:${tools.map((t) => t.tool).join(',')}`;
    let p = this.checked.get(key);
    if (!p) {
      p = requireTools(driver, tools, this.has);
      // forgotten on failure; the caller gets the failure from the promise returned below
      p.catch(() => this.checked.delete(key));
      this.checked.set(key, p);
    }
    return p;
  }
}

/** This process's check of this host's tools. */
export const hostTools = new ToolCheck();

/** The tools of `driver` on this host (once per process), or with a stand-in `has` (never cached). */
export function checkTools(driver: string, tools: readonly ToolReq[], has?: (tool: string) => Promise<boolean>): Promise<void> {
  return has ? requireTools(driver, tools, has) : hostTools.check(driver, tools);
}
