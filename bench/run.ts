/**
 * The benchmark runner: `npm run bench [-- NAME...] [--quick] [--json]`, as root.
 * NAME: snapshot, transfer, incremental (together: storage), jails, scheduler, failover;
 * default: all. Each prints its figures beside the raw tool measured in the same run, and
 * whether its goal is met; --json prints one JSON document instead.
 * failover takes --rounds=N (default 3, --quick 1; or CB_FAILOVER_ROUNDS=N), --poll=cli and
 * --cut=non-leader|etcd-leader|cellblock-leader (which host's link is cut; default non-leader).
 * idle takes --seconds=N (default 60, --quick 20) and --baseline-bin=PATH (another checkout's
 * bin/cellblock, measured first in the same run). idle is not in the default set (it runs
 * two labs for minutes): name it. lb: HAProxy and the VIP on a 3-host lab (bench/lb.ts).
 */
import { cpus } from 'node:os';
import { benchSnapshot, printSnapshotBench } from './snapshot.js';
import { benchTransfer, printTransferBench } from './transfer.js';
import { benchIncremental, printIncrementalBench } from './incremental.js';
import { benchJails, printJailBench } from './jails.js';
import { benchScheduler, printSchedulerBench } from './scheduler.js';
import { benchFailover, failoverOptions, printFailoverBench } from './failover.js';
import { benchIdle, idleOptions, printIdleBench } from './idle.js';
import { benchLb, printLbBench } from './lb.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const GROUPS: Record<string, string[]> = { storage: ['snapshot', 'transfer', 'incremental'] };
const ALL = ['snapshot', 'transfer', 'incremental', 'jails', 'scheduler', 'failover', 'lb'];
const KNOWN = [...ALL, 'idle'];
const names = args.filter((a) => !a.startsWith('--')).flatMap((n) => GROUPS[n] ?? [n]);
for (const n of names) {
  if (!KNOWN.includes(n)) {
    console.error(`unknown benchmark ${n}: use ${[...KNOWN, ...Object.keys(GROUPS)].join(', ')}`);
    process.exit(1);
  }
}
const wanted = names.length ? [...new Set(names)] : ALL;
if (process.getuid?.() !== 0 && wanted.some((n) => n !== 'scheduler')) {
  console.error('the storage, jail and failover benchmarks need root (loop devices, btrfs, runc, network namespaces): run with sudo, or run only: npm run bench -- scheduler');
  process.exit(1);
}

let failoverOpts: ReturnType<typeof failoverOptions> = {};
let idleOpts: ReturnType<typeof idleOptions> = {};
try {
  failoverOpts = failoverOptions(args, quick); // checked before anything runs
  idleOpts = idleOptions(args, quick);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}

const results: Record<string, unknown> = { date: new Date().toISOString(), cores: cpus().length, cpu: cpus()[0]?.model };
const t0 = Date.now();
for (const n of wanted) {
  if (!json) console.log(`\n== ${n}`);
  if (n === 'snapshot') { const r = await benchSnapshot({ quick }); results[n] = r; if (!json) printSnapshotBench(r); }
  if (n === 'transfer') { const r = await benchTransfer({ quick }); results[n] = r; if (!json) printTransferBench(r); }
  if (n === 'incremental') { const r = await benchIncremental(); results[n] = r; if (!json) printIncrementalBench(r); }
  if (n === 'jails') { const r = await benchJails({ startN: quick ? 10 : 50, densityN: quick ? 20 : 200, json }); results[n] = r; if (!json) printJailBench(r); }
  if (n === 'scheduler') { const r = await benchScheduler(); results[n] = r; if (!json) printSchedulerBench(r); }
  if (n === 'failover') { const r = await benchFailover(failoverOpts); results[n] = r; if (!json) printFailoverBench(r); }
  if (n === 'idle') { const r = await benchIdle(idleOpts); results[n] = r; if (!json) printIdleBench(r); }
  if (n === 'lb') { const r = await benchLb({ quick }); results[n] = r; if (!json) printLbBench(r); }
}
results.seconds = Math.round((Date.now() - t0) / 1000);
if (json) console.log(JSON.stringify(results, null, 2));
else console.log(`\n(${results.seconds} s, ${results.cores} cores, ${results.date})`);
