/**
 * Where a path inside a jail lives on the host, through the jail's bind mounts (pure), and
 * the check that a jail's command exists there before anything is made: with tini as PID 1,
 * a missing command would otherwise only show as a jail that exits at once.
 */
import { access, constants, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { UserError } from '../sys/errors.js';
import { OS_ROOT_DIRS } from './host.js';
import { jailMounts, JAIL_PATH, type HostInfo } from './oci.js';
import type { JailSpec } from './model.js';

/** The host path behind `jailPath`, or undefined when it is not under a bind mount. */
export function hostPathOf(spec: JailSpec, host: HostInfo, bundleDir: string, jailPath: string): string | undefined {
  let p = posix.normalize(jailPath);
  const first = p.split('/')[1] ?? '';
  if (host.usrMerged && OS_ROOT_DIRS.includes(first)) p = `/usr${p}`; // /bin -> usr/bin in the skeleton
  let best: { destination: string; source: string } | undefined;
  for (const m of jailMounts(spec, host, bundleDir)) {
    if (m.type !== 'bind') continue;
    if ((p === m.destination || p.startsWith(`${m.destination}/`)) && (!best || m.destination.length > best.destination.length)) best = m;
  }
  return best ? best.source + p.slice(best.destination.length) : undefined;
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    if (!(await stat(p)).isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws a UserError naming the command when it is not an executable file inside the jail. */
export async function checkCommandInJail(spec: JailSpec, host: HostInfo, bundleDir: string): Promise<void> {
  const cmd = spec.command[0]!;
  const candidates = cmd.includes('/')
    ? [posix.resolve('/', cmd)]
    : (spec.env.PATH ?? JAIL_PATH).split(':').filter((d) => d.startsWith('/')).map((d) => posix.join(d, cmd));
  for (const c of candidates) {
    const h = hostPathOf(spec, host, bundleDir, c);
    if (h && (await isExecutableFile(h))) return;
  }
  throw new UserError(
    `command ${JSON.stringify(cmd)} is not an executable file inside the jail`,
    cmd.includes('/')
      ? 'give a path that exists inside the jail: the host\'s /usr (e.g. /usr/bin/python3), the image under /app, or a --rw directory'
      : `give its full path, or install it on the host: the jail searches ${spec.env.PATH ?? JAIL_PATH}`,
  );
}
