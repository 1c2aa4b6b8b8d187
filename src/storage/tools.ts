/**
 * The check a storage driver makes of its tools (STYLE.md §6): once per process and driver,
 * with a message that names the missing tool and the Debian package providing it. A failed
 * check is repeated next time (the user may have installed the package meanwhile).
 */
import { UserError } from '../sys/errors.js';
import { hasTool } from '../sys/exec.js';
import type { DriverName } from './driver.js';

export interface ToolReq {
  tool: string;
  pkg: string;
}

const checked = new Map<string, Promise<void>>();

export function checkTools(driver: DriverName, tools: readonly ToolReq[], has: (tool: string) => Promise<boolean> = hasTool): Promise<void> {
  const run = async () => {
    for (const t of tools) {
      if (!(await has(t.tool))) {
        throw new UserError(`${t.tool} is not installed; the ${driver} storage driver needs it`, `install it with: apt-get install ${t.pkg} (or run: cellblock host bootstrap)`);
      }
    }
  };
  if (has !== hasTool) return run(); // a test's stand-in: never cached
  const key = `${driver}:${tools.map((t) => t.tool).join(',')}`;
  let p = checked.get(key);
  if (!p) {
    p = run();
    p.catch(() => checked.delete(key));
    checked.set(key, p);
  }
  return p;
}
