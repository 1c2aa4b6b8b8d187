/**
 * `cellblock host bootstrap`: installs the Debian packages of every missing tool of
 * host-checks.ts with apt-get. Idempotent: when nothing is missing it runs nothing.
 *
 * Distro services are switched off after the install. Debian starts a package's service
 * as soon as it is installed: etcd-server brings up a one-member etcd on 127.0.0.1:2379,
 * postgresql creates and starts a "main" cluster on port 5432, haproxy and keepalived
 * start with the packaged configuration. cellblock runs its own instances of all of
 * these (its own etcd with its own data dir, PostgreSQL under Patroni inside jails,
 * HAProxy driven through its runtime API, keepalived with generated configuration), so
 * the distro instances would hold the ports and run a second, unmanaged database. When
 * systemd is PID 1 we therefore run `systemctl disable --now UNIT` for the units of the
 * packages this run installed (never units of packages that were already there: an
 * operator may use those on purpose). Failures there are reported, not fatal.
 */
import { NotSupportedError, UserError, quoteForDisplay } from './errors.js';
import type { Exec } from './exec.js';
import { evaluateHost, type CheckResult } from './host-checks.js';
import { gatherFacts, type FactSource } from './host-facts.js';

export const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' } as const;
export const APT_UPDATE_TIMEOUT_MS = 10 * 60_000;
export const APT_INSTALL_TIMEOUT_MS = 30 * 60_000;
const SYSTEMCTL_TIMEOUT_MS = 60_000;

/** systemd units the distro starts when a package is installed. */
export const PACKAGE_UNITS: Readonly<Record<string, readonly string[]>> = {
  'etcd-server': ['etcd'],
  haproxy: ['haproxy'],
  keepalived: ['keepalived'],
  patroni: ['patroni'],
  postgresql: ['postgresql'],
};

/** Debian packages providing the missing tools, each once, in the order of the check table. */
export function missingPackages(results: readonly CheckResult[]): string[] {
  const pkgs: string[] = [];
  for (const r of results) {
    if (r.kind === 'tool' && r.status === 'missing' && r.pkg && !pkgs.includes(r.pkg)) pkgs.push(r.pkg);
  }
  return pkgs;
}

export function aptUpdateArgv(): string[] {
  return ['apt-get', 'update'];
}

export function aptInstallArgv(pkgs: readonly string[]): string[] {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs];
}

export function systemctlDisableArgv(unit: string): string[] {
  return ['systemctl', 'disable', '--now', unit];
}

/** Units to switch off after installing `pkgs` (see the file comment for why). */
export function unitsToDisable(pkgs: readonly string[]): string[] {
  return pkgs.flatMap((p) => PACKAGE_UNITS[p] ?? []);
}

export interface BootstrapPlan {
  packages: string[];
  /** apt-get commands to run, in order; empty when nothing is missing. */
  commands: string[][];
  /** Units disabled afterwards when systemd is PID 1. */
  units: string[];
  /** Missing kernel features: packages cannot fix these. */
  kernel: CheckResult[];
}

/** Pure: what bootstrap would do for these check results. */
export function planBootstrap(results: readonly CheckResult[]): BootstrapPlan {
  const packages = missingPackages(results);
  return {
    packages,
    commands: packages.length ? [aptUpdateArgv(), aptInstallArgv(packages)] : [],
    units: unitsToDisable(packages),
    kernel: results.filter((r) => r.kind === 'kernel' && r.status === 'missing'),
  };
}

/** An apt command as the user would type it, with the environment it runs with. */
export function displayAptCommand(argv: readonly string[]): string {
  const env = argv[1] === 'install' ? Object.entries(APT_ENV).map(([k, v]) => `${k}=${v} `).join('') : '';
  return env + argv.map(quoteForDisplay).join(' ');
}

export interface BootstrapDeps {
  exec: Exec;
  facts: FactSource;
  /** Effective user id (process.getuid); installing needs root. */
  uid: number;
  /** Progress lines ("running: apt-get update"); the CLI sends them to stderr. */
  log?: (line: string) => void;
}

export interface BootstrapReport extends BootstrapPlan {
  dryRun: boolean;
  /** True when systemd is PID 1 and systemctl exists, so units are (or would be) disabled. */
  systemd: boolean;
  installed: string[];
  disabled: string[];
  disableFailures: { unit: string; error: string }[];
  /** Checks still missing after the install (tools and kernel features). */
  missingAfter: CheckResult[];
}

/** systemd is PID 1 exactly when /run/systemd/system exists (sd_booted(3)). */
async function systemdRunning(src: FactSource): Promise<boolean> {
  return (await src.exists('/run/systemd/system')) && (await src.whichTool('systemctl')) !== undefined;
}

export async function bootstrap(deps: BootstrapDeps, opts: { dryRun?: boolean } = {}): Promise<BootstrapReport> {
  const log = deps.log ?? (() => {});
  const before = evaluateHost(await gatherFacts(deps.facts, { versions: false }));
  const plan = planBootstrap(before);
  const systemd = await systemdRunning(deps.facts);
  const report: BootstrapReport = {
    ...plan, dryRun: Boolean(opts.dryRun), systemd, installed: [], disabled: [], disableFailures: [],
    missingAfter: before.filter((r) => r.status === 'missing'),
  };
  if (plan.packages.length === 0 || opts.dryRun) return report;

  if ((await deps.facts.whichTool('apt-get')) === undefined) {
    throw new NotSupportedError('host bootstrap on this host', `apt-get was not found; install these packages with the host's package manager: ${plan.packages.join(' ')}`);
  }
  if (deps.uid !== 0) {
    throw new UserError('host bootstrap installs packages and must run as root', 'run it as root, for example: sudo cellblock host bootstrap');
  }
  const env = { ...process.env, ...APT_ENV };
  for (const argv of plan.commands) {
    log(`running: ${displayAptCommand(argv)}`);
    await deps.exec(argv, { env, timeoutMs: argv[1] === 'update' ? APT_UPDATE_TIMEOUT_MS : APT_INSTALL_TIMEOUT_MS });
  }
  report.installed = plan.packages;

  if (systemd) {
    for (const unit of plan.units) {
      log(`running: ${systemctlDisableArgv(unit).join(' ')}`);
      try {
        await deps.exec(systemctlDisableArgv(unit), { timeoutMs: SYSTEMCTL_TIMEOUT_MS });
        report.disabled.push(unit);
      } catch (e) {
        report.disableFailures.push({ unit, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  const after = evaluateHost(await gatherFacts(deps.facts, { versions: false }));
  report.missingAfter = after.filter((r) => r.status === 'missing');
  return report;
}
