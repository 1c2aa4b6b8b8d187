import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { contextFrom } from '../../context.js';
import { printJson, printTable } from '../../output.js';
import { evaluateHost, missingRequired, type CheckResult } from '../../../sys/host-checks.js';
import { gatherFacts, realFactSource } from '../../../sys/host-facts.js';
import { UserError } from '../../../sys/errors.js';
import { diskLimitChecks } from '../../../storage/checks.js';
import { listPoolRecords } from '../../../storage/pools.js';

/** STATUS cell: required and missing shouts; missing for later says what for. */
export function statusCell(r: CheckResult): string {
  if (r.status === 'present') return r.kind === 'os' ? 'ok' : 'present';
  if (r.status === 'warning') return 'WARNING';
  return r.required ? 'MISSING' : `missing (${r.neededFor === 'optional' ? 'optional' : `for ${r.neededFor}`})`;
}

/** The error host check exits with when the storage + jail core is incomplete. */
export function requiredMissingError(missing: readonly CheckResult[]): UserError {
  const tools = missing.filter((r) => r.kind === 'tool');
  const kernel = missing.filter((r) => r.kind === 'kernel');
  const fixes = [
    ...(tools.length ? ['run `cellblock host bootstrap`'] : []),
    ...kernel.map((r) => `${r.name}: ${r.fix}`),
  ];
  return new UserError(
    `this host lacks what storage and jails need: ${missing.map((r) => r.name).join(', ')}`,
    fixes.join('; '),
  );
}

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('check')
    .description('list the tools and kernel features cellblock needs and whether this host has them; exits 1 when the storage + jail core is incomplete')
    .addHelpText('after', [
      '',
      'Tools marked MISSING are needed by the core (pools, datasets, jails); "missing (for cluster|lb|db)"',
      'ones are needed later by clusters (openssl), HAProxy/keepalived and Patroni/PostgreSQL. Nothing is changed:',
      'the check only reads /proc, /sys and /lib/modules and runs each tool\'s --version.',
      '',
      'Examples:',
      '  cellblock host check',
      '  cellblock host check --json | jq \'.checks[] | select(.status == "missing") | .name\'',
    ].join('\n'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd, deps);
      const facts = await gatherFacts(realFactSource(ctx.exec));
      const results = [...evaluateHost(facts), ...diskLimitChecks(await listPoolRecords(ctx.dataDir))];
      const missing = missingRequired(results);
      if (ctx.json) {
        printJson(ctx, { ok: missing.length === 0, kernelRelease: facts.kernelRelease, missingRequired: missing.map((r) => r.name), checks: results });
      } else {
        printTable(ctx, ['name', 'kind', 'status', 'detail', 'fix'], results.map((r) => [r.name, r.kind, statusCell(r), r.detail, r.fix]), results);
        const later = results.filter((r) => !r.required && r.status === 'missing' && r.kind === 'tool');
        ctx.stdout.write('\n' + (missing.length ? 'core (storage + jails): INCOMPLETE' : 'core (storage + jails): ready') + '\n');
        if (later.length) ctx.stdout.write(`for cluster, lb and db: missing ${later.map((r) => r.name).join(', ')}; run: cellblock host bootstrap\n`);
      }
      if (missing.length) throw requiredMissingError(missing);
    });
}
