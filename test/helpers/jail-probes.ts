/**
 * Syscall-level probes for jail hardening tests, as python3 programs (python3 -c CODE ARGS):
 * ctypes calls the raw syscalls and each program prints one JSON object of errno values
 * (0 = the call succeeded).
 *
 * Two kinds, never mixed:
 * - inJail(jail, body): escape attempts. They run only through `runc exec` in a test jail.
 *   On the host, as root, several of them would succeed and change the machine.
 * - onHost(body): the controls, harmless by construction (they create sockets, trace their
 *   own child, read files); they show that a mechanism the jail is refused works where it
 *   is not confined.
 */
import { exec } from '../../src/sys/exec.js';
import { PYTHON, type RunningJail } from './jail-harness.js';

/** Helpers every probe can use: sys_errno(libc.f, *args), os_errno(fn, *args), write_errno(path). */
const PRELUDE = [
  'import ctypes, errno, json, os, socket, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'def sys_errno(f, *a):',
  '    ctypes.set_errno(0); r = f(*a); return 0 if r != -1 else ctypes.get_errno()',
  'def os_errno(f, *a):',
  '    try:',
  '        f(*a); return 0',
  '    except OSError as e:',
  '        return e.errno',
  'def write_errno(path, data="x"):',
  '    def w():',
  '        with open(path, "w") as fh: fh.write(data)',
  '    return os_errno(w)',
  'out = {}',
].join('\n');

export const EPERM = 1;
export const ENOENT = 2;
export const EACCES = 13;
export const EROFS = 30;
export const ENOSYS = 38;
export const ECONNREFUSED = 111;

export type ProbeResult = Record<string, unknown>;

function parse(stdout: string, stderr: string, code: number): ProbeResult {
  const last = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`probe failed (exit ${code}):\n${stdout}\n${stderr}`);
  return JSON.parse(last) as ProbeResult;
}

/** Runs `body` (python lines that fill `out`) inside the jail; returns `out`. */
export async function inJail(j: RunningJail, body: readonly string[], args: readonly string[] = [], user?: string): Promise<ProbeResult> {
  const code = [PRELUDE, ...body, 'print(json.dumps(out))'].join('\n');
  const r = await j.run([PYTHON, '-c', code, ...args], user === undefined ? {} : { user });
  return parse(r.stdout, r.stderr, r.code);
}

/** Runs a harmless control `body` on the host; returns `out`. */
export async function onHost(body: readonly string[], args: readonly string[] = []): Promise<ProbeResult> {
  const code = [PRELUDE, ...body, 'print(json.dumps(out))'].join('\n');
  const r = await exec([PYTHON, '-c', code, ...args], { okCodes: Array.from({ length: 256 }, (_, i) => i), timeoutMs: 30_000 });
  return parse(r.stdout, r.stderr, r.code);
}

/** x86_64 syscall numbers the probes call directly. */
export const NR = { init_module: 175, finit_module: 313 };
export const PTRACE_ATTACH = 16;
export const PTRACE_DETACH = 17;

/** Fields of /proc/PID/status as a map ("CapEff" -> "0000000000000000"). */
export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
