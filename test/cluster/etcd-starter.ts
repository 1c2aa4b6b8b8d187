/**
 * A stand-in agent for tests: starts (or adopts) the embedded etcd of the data dir given as
 * argv[2], prints {"pid","adopted"} and exits, leaving etcd running as a real agent would.
 */
import { EmbeddedEtcd } from '../../src/cluster/embedded-etcd.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: etcd-starter DATA_DIR');
const r = await new EmbeddedEtcd({ dataDir, name: 'h1' }).ensureRunning();
process.stdout.write(JSON.stringify(r) + '\n');
