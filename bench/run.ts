/**
 * The benchmark runner: `npm run bench [-- NAME...] [--quick] [--json]`, as root.
 * NAME: storage, jails, scheduler (default: all). Each prints its figures beside the raw tool
 * measured in the same run, and whether its goal is met.
 */
import { benchStorage, printStorageBench } from './storage.js';
import { benchJails, printJailBench } from './jails.js';
import { benchScheduler, printSchedulerBench } from './scheduler.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const all = ['storage', 'jails', 'scheduler'];
for (const n of names) if (!all.includes(n)) { console.error(`unknown benchmark ${n}: use ${all.join(', ')}`); process.exit(1); }
const wanted = names.length ? names : all;
if (process.getuid?.() !== 0 && wanted.some((n) => n !== 'scheduler')) {
  console.error('the storage and jail benchmarks need root (loop devices, btrfs, runc): run with sudo, or run only: npm run bench -- scheduler');
  process.exit(1);
}
const results: Record<string, unknown> = { date: new Date().toISOString(), cores: (await import('node:os')).cpus().length };
for (const n of wanted) {
  if (!json) console.log(`\n== ${n}`);
  if (n === 'storage') { const r = await benchStorage({ quick }); results.storage = r; if (!json) printStorageBench(r); }
  if (n === 'jails') { const r = await benchJails({ startN: quick ? 10 : 50, densityN: quick ? 20 : 200, json }); results.jails = r; if (!json) printJailBench(r); }
  if (n === 'scheduler') { const r = await benchScheduler(); results.scheduler = r; if (!json) printSchedulerBench(r); }
}
if (json) console.log(JSON.stringify(results, null, 2));
