import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom, type CliContext } from '../../context.js';
import { printJson } from '../../output.js';
import { bootstrap, displayAptCommand, systemctlDisableArgv, type BootstrapReport } from '../../../sys/bootstrap.js';
import { realFactSource } from '../../../sys/host-facts.js';
import { missingRequired } from '../../../sys/host-checks.js';
import { requiredMissingError } from './check.js';

function printHuman(ctx: CliContext, r: BootstrapReport): void {
  const w = (line: string) => ctx.stdout.write(line + '\n');
  if (r.packages.length === 0) {
    w('nothing to install: every tool cellblock uses is present');
  } else if (r.dryRun) {
    w(`would install ${r.packages.length} package(s): ${r.packages.join(' ')}`);
    for (const argv of r.commands) w(`  ${displayAptCommand(argv)}`);
    if (r.units.length) {
      w(r.systemd
        ? 'then switch off the distro services (cellblock runs its own instances):'
        : 'systemd is not PID 1 here, so these distro services would be left alone:');
      for (const u of r.units) w(`  ${systemctlDisableArgv(u).join(' ')}`);
    }
  } else {
    w(`installed: ${r.installed.join(' ')}`);
    if (r.disabled.length) w(`disabled distro services (cellblock runs its own): ${r.disabled.join(' ')}`);
    for (const f of r.disableFailures) w(`warning: could not disable ${f.unit}: ${f.error}`);
  }
  for (const k of r.kernel) w(`kernel: ${k.name} is missing (${k.detail}); packages cannot fix this: ${k.fix}`);
}

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('bootstrap')
    .description('install the Debian packages of every missing tool (apt-get); does nothing when all are present')
    .option('--dry-run', 'print the apt-get commands instead of running them')
    .addHelpText('after', [
      '',
      'Runs `apt-get update` and then `apt-get install -y --no-install-recommends PACKAGES` with',
      'DEBIAN_FRONTEND=noninteractive, only for packages whose tools are missing. Debian starts',
      'etcd, postgresql, haproxy, keepalived and patroni services right after installing them;',
      'cellblock runs its own instances, so when systemd is PID 1 the units of the packages just',
      'installed are switched off with `systemctl disable --now UNIT`. Kernel features cannot be',
      'installed and are only reported.',
      '',
      'Examples:',
      '  cellblock host bootstrap --dry-run',
      '  sudo cellblock host bootstrap',
      '  cellblock host bootstrap --json',
    ].join('\n'))
    .action(async (opts: { dryRun?: boolean }, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const report = await bootstrap({
        exec: ctx.exec,
        facts: realFactSource(ctx.exec),
        uid: process.getuid?.() ?? 0,
        log: (line) => { if (!ctx.json) ctx.stderr.write(line + '\n'); },
      }, { dryRun: Boolean(opts.dryRun) });
      if (ctx.json) printJson(ctx, report);
      else printHuman(ctx, report);
      const missing = missingRequired(report.missingAfter);
      if (!report.dryRun && missing.length) throw requiredMissingError(missing);
    });
}
