/**
 * Integration: Debian's own servers in real jails, as they run on the host. The jails see the
 * host's /etc read-only (users by name, the CA bundle, mime.types) and bring their own
 * configuration in their image only, laid over /etc with `etc` entries.
 * - nginx, as www-data, from /etc/nginx/nginx.conf = the image's /app/etc/nginx.conf
 * - gunicorn with Flask over TLS; Python's ssl in other jails: the host's CA bundle, and a
 *   scratch copy with the test's CA added laid over /etc/ssl/certs/ca-certificates.crt
 * - PostgreSQL 15 as postgres (initdb + postgres -D on a writable dir), psql from another jail
 * Needs the Debian packages nginx, gunicorn, python3-flask, postgresql-15 and openssl
 * (scripts/ensure-deps.sh installs them); skipped with the reason when one is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { JailLab, jailSkipReason, sleep, type RunningJail } from '../helpers/jail-harness.js';
import { inJail } from '../helpers/jail-probes.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const NEEDS: [string, string][] = [
  ['/usr/sbin/nginx', 'nginx'], ['/usr/bin/gunicorn', 'gunicorn'], ['/usr/lib/python3/dist-packages/flask/__init__.py', 'python3-flask'],
  [`${PG_BIN}/postgres`, 'postgresql-15'], ['/usr/bin/psql', 'postgresql-client'], ['/usr/bin/openssl', 'openssl'],
];

async function skipReason(): Promise<string | undefined> {
  const base = await jailSkipReason();
  if (base) return base;
  for (const [path, pkg] of NEEDS) {
    try { await access(path); } catch { return `needs ${path} (Debian package ${pkg}; scripts/ensure-deps.sh installs it)`; }
  }
  return undefined;
}

const skip = await skipReason();
const SLEEP = ['/usr/bin/sleep', 'infinity'];
const WAIT_MS = 60_000; // a shared 2-core machine: PostgreSQL's initdb alone can take a while
let lab: JailLab | undefined;

before(async () => {
  if (!skip) lab = await JailLab.open('cbsoft-');
});

after(async () => {
  await lab?.teardown();
});

/** Polls `probe` until it returns a value; fails with the jail's log after WAIT_MS. */
async function until<T>(what: string, jail: RunningJail, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if ((await jail.state())?.status !== 'running') break;
    await sleep(250);
  }
  const state = (await jail.state())?.status ?? 'gone';
  throw new Error(`${what}: no success within ${WAIT_MS / 1000} s (jail ${jail.names.jail} ${state}); last error: ${String(last)}\njail log:\n${await jail.log()}`);
}

async function getText(url: string): Promise<{ status: number; server: string | null; body: string } | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, server: res.headers.get('server'), body: await res.text() };
}

function uidOf(passwd: string, name: string): number {
  const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} in the host's /etc/passwd`);
  return Number(line.split(':')[2]);
}

/** Uid and gid lines of a host process (the jail's init as the host sees it). */
async function idsOf(pid: number): Promise<{ uid: number; gid: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => Number(/^(\w+):\s+(\d+)/m.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2]);
  return { uid: field('Uid'), gid: field('Gid') };
}

const NGINX_CONF = `# the whole configuration of this jail's nginx: it runs as the jail's user (www-data), so no
# "user" line, a port above 1024, and every path it writes under /tmp
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr info;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  access_log /dev/stdout;
  client_body_temp_path /tmp/body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  server {
    listen 8080;
    root /app/www;
    location = /whoami { default_type text/plain; return 200 "served by nginx\\n"; }
  }
}
`;

test('Debian\'s nginx serves a page from a jail, as www-data, configured from its image only', { skip }, async () => {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const j = await lab!.start({
    name: 'nginx', user: 'www-data', etc: ['nginx/nginx.conf=/app/etc/nginx.conf'],
    files: { 'etc/nginx.conf': NGINX_CONF, 'www/index.html': '<h1>nginx in a jail</h1>\n', 'www/style.css': 'h1 { color: teal }\n' },
    command: ['/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;'],
  });
  const page = await until('nginx answers', j, () => getText(`http://${j.ip}:8080/`));
  assert.deepEqual([page.status, page.body], [200, '<h1>nginx in a jail</h1>\n'], await j.log());
  assert.match(page.server ?? '', /^nginx/);
  const css = await fetch(`http://${j.ip}:8080/style.css`, { signal: AbortSignal.timeout(2000) });
  assert.equal(css.headers.get('content-type'), 'text/css', 'the host\'s /etc/nginx/mime.types');
  assert.deepEqual(await idsOf(j.pid), { uid: uidOf(passwd, 'www-data'), gid: uidOf(passwd, 'www-data') }, 'www-data by name, from the host\'s passwd');
  const inside = await j.exec(['/usr/bin/cat', '/etc/nginx/nginx.conf']);
  assert.equal(inside.stdout, NGINX_CONF, 'the image\'s configuration lies over the host\'s');
  assert.notEqual(await readFile('/etc/nginx/nginx.conf', 'utf8'), NGINX_CONF, 'the host\'s own is untouched');
  assert.match(await j.log(), /GET \/style.css/);
});

const FLASK_APP = `from flask import Flask, request
app = Flask(__name__)

@app.get("/")
def hello():
    return f"hello from flask over {request.scheme}\\n"
`;

/** CA and server certificate for the name app.test, made with openssl in `dir`. */
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const p = (n: string) => join(dir, n);
  await exec(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=cellblock test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  await exec(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=app.test', '-keyout', p('app.key'), '-out', p('app.csr')]);
  await writeFile(p('ext'), 'subjectAltName=DNS:app.test\n');
  await exec(['openssl', 'x509', '-req', '-in', p('app.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('ext'), '-out', p('app.crt')]);
  return { ca: await readFile(p('ca.crt'), 'utf8'), cert: await readFile(p('app.crt'), 'utf8'), key: await readFile(p('app.key'), 'utf8') };
}

/** Python run in a client jail: a TLS request to IP:8443 as app.test with the default context (the trust store in /etc). */
const TLS_CLIENT = [
  'import ssl',
  'ctx = ssl.create_default_context()',
  'out["cas"] = ctx.cert_store_stats()["x509_ca"]',
  'try:',
  '    with socket.create_connection((sys.argv[1], 8443), timeout=10) as s:',
  '        with ctx.wrap_socket(s, server_hostname="app.test") as t:',
  '            t.sendall(b"GET / HTTP/1.0\\r\\nHost: app.test\\r\\n\\r\\n")',
  '            data = b""',
  '            while True:',
  '                chunk = t.recv(4096)',
  '                if not chunk: break',
  '                data += chunk',
  '            out["body"] = data.split(b"\\r\\n\\r\\n", 1)[1].decode()',
  'except ssl.SSLCertVerificationError as e:',
  '    out["verify"] = e.verify_message',
];

test('gunicorn with Flask serves TLS from a jail; Python\'s ssl in a jail uses the host\'s CA bundle, or a copy with the test\'s CA laid over it', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cbcerts-'));
  try {
    const { ca, cert, key } = await makeCerts(dir);
    const hostBundle = await readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8');
    const hostCas = hostBundle.split('BEGIN CERTIFICATE').length - 1;
    t.diagnostic(`host CA bundle: ${hostCas} certificates`);
    const flask = await lab!.start({
      name: 'flask', user: 'www-data', env: ['PYTHONDONTWRITEBYTECODE=1'],
      files: { 'app.py': FLASK_APP, 'tls/app.crt': cert, 'tls/app.key': key },
      command: ['/usr/bin/gunicorn', '--bind', '0.0.0.0:8443', '--workers', '2', '--certfile', '/app/tls/app.crt', '--keyfile', '/app/tls/app.key', '--chdir', '/app', 'app:app'],
    });
    const plain = await lab!.start({ name: 'plain', command: SLEEP });
    const trusting = await lab!.start({
      name: 'trusting', command: SLEEP, etc: ['ssl/certs/ca-certificates.crt=/app/trust/ca-certificates.crt'],
      files: { 'trust/ca-certificates.crt': `${hostBundle}${ca}` },
    });
    const served = await until('gunicorn answers over TLS', flask, async () => {
      const r = await inJail(trusting, TLS_CLIENT, [flask.ip]);
      return r.body === undefined ? undefined : r;
    });
    assert.deepEqual(served, { cas: hostCas + 1, body: 'hello from flask over https\n' }, 'the scratch trust store verifies the test\'s certificate');
    assert.deepEqual(await inJail(plain, TLS_CLIENT, [flask.ip]), { cas: hostCas, verify: 'unable to get local issuer certificate' },
      'the host\'s own CA bundle is loaded, and it does not know the test\'s CA');
    assert.equal(await readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8'), hostBundle, 'the host\'s trust store is untouched');
    assert.match(await flask.log(), /Booting worker/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const PG_START = `#!/bin/sh
# PostgreSQL 15 as Debian ships it: initdb on first start, then the server in the foreground
set -eu
D=/var/lib/postgresql/data
if [ ! -s "$D/PG_VERSION" ]; then
  ${PG_BIN}/initdb -D "$D" -U postgres -E UTF8 --no-sync --auth-local=trust --auth-host=scram-sha-256 --pwfile=/app/pgpass
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
fi
exec ${PG_BIN}/postgres -D "$D" -c listen_addresses='*' -c unix_socket_directories=/tmp -c shared_buffers=16MB -c fsync=off
`;

test('Debian\'s PostgreSQL 15 runs in a jail as postgres on a writable dir and accepts a connection from another jail', { skip }, async () => {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const pg = await lab!.start({
    name: 'pg', user: 'postgres', memory: '512M', rw: ['/var/lib/postgresql/data'],
    files: { 'start.sh': PG_START, pgpass: 'jail-secret\n' },
    command: ['/bin/sh', '/app/start.sh'],
  });
  const client = await lab!.start({ name: 'psql', command: SLEEP, env: ['PGPASSWORD=jail-secret'] });
  const conn = `host=${pg.ip} port=5432 user=postgres dbname=postgres connect_timeout=5`;
  await until('postgres accepts connections', pg, async () => {
    const r = await client.run([`${PG_BIN}/pg_isready`, '-d', conn]);
    return r.code === 0 ? true : undefined;
  });
  const sql = 'CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3); SELECT current_user, sum(x), inet_server_addr() FROM t;';
  const r = await client.run(['/usr/bin/psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, conn]);
  assert.equal(r.code, 0, `${r.stderr}\npg log:\n${await pg.log()}`);
  assert.equal(r.stdout.trim().split('\n').pop(), `postgres|6|${pg.ip}`);
  const wrong = await client.run(['/usr/bin/psql', '-X', '-c', 'SELECT 1', conn], { env: ['PGPASSWORD=wrong'] });
  assert.notEqual(wrong.code, 0, 'a wrong password is refused: the jail\'s own pg_hba.conf');
  assert.match(wrong.stderr, /password authentication failed for user "postgres"/);
  assert.deepEqual(await idsOf(pg.pid), { uid: uidOf(passwd, 'postgres'), gid: Number(passwd.split('\n').find((l) => l.startsWith('postgres:'))!.split(':')[3]) });
  const version = await pg.exec(['/usr/bin/cat', '/var/lib/postgresql/data/PG_VERSION']);
  assert.equal(version.stdout.trim(), '15');
  await access(join(pg.spec.writablePath, 'var/lib/postgresql/data/PG_VERSION')); // the data lives in the jail's writable dataset
});
