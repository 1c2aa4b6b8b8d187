/**
 * Test helper (not a test): reads and writes a lab host's cluster state from inside its
 * network namespace, where its etcd member listens on 127.0.0.1, with its own certificates.
 * The keepalived test reads HostLive records and checks that `lb` is gone after the delete.
 *
 *   node keepalived-store-cli.js DATA_DIR get PREFIX      -> JSON [{key, value}]
 *   node keepalived-store-cli.js DATA_DIR put KEY JSON
 *   node keepalived-store-cli.js DATA_DIR delete KEY
 */
import { EmbeddedEtcd } from '../../src/cluster/embedded-etcd.js';
import { clientUrl } from '../../src/cluster/etcd.js';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import { readTls, tlsDir } from '../../src/cluster/pki.js';

const [dataDir, op, key, value] = process.argv.slice(2);
if (!dataDir || !op || key === undefined) throw new Error('usage: DATA_DIR get|put|delete KEY [JSON]');
const member = await new EmbeddedEtcd({ dataDir }).load();
const store = EtcdStore.forHost([clientUrl(member)], await readTls(tlsDir(dataDir)));
try {
  if (op === 'get') process.stdout.write(JSON.stringify((await store.listJson(key)).map((e) => ({ key: e.key, value: e.value }))));
  else if (op === 'put') await store.put(key, value ?? '');
  else if (op === 'delete') await store.delete(key);
  else throw new Error(`unknown op ${op}`);
} finally {
  await store.close();
}
