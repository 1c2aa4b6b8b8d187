/** What the cluster commands share: a port option. */
import { UserError } from '../../../sys/errors.js';

export function portOption(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UserError(`${flag}: expected a TCP port (1-65535), got ${JSON.stringify(v)}`, `write ${flag} 7480`);
  return Number(v);
}
