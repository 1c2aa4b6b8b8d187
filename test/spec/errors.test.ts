import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stackErrors } from '../helpers/spec.js';
import { parseStack, StackError } from '../../src/spec/parse.js';
import { UserError } from '../../src/sys/errors.js';

const errors = stackErrors;

/** A valid service `web` (lines 1-4) with `extra` fields from line 5 on. */
const web = (...extra: string[]) => ['services:', '  web:', '    image: web:v1', '    command: [/app/web]', ...extra.map((l) => `    ${l}`)];

const WHOLE = 'write a whole number, for example 3';

test('replicas: "three", negative, zero, fraction, a list, and a quoted number', () => {
  assert.deepEqual(errors(web('replicas: three')), [`stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got "three"; ${WHOLE}`]);
  assert.deepEqual(errors(web('replicas: -2')), [`stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got -2; ${WHOLE}`]);
  assert.deepEqual(errors(web('replicas: 0')), [`stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got 0; ${WHOLE}`]);
  assert.deepEqual(errors(web('replicas: 1.5')), [`stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got 1.5; ${WHOLE}`]);
  assert.deepEqual(errors(web('replicas: [3]')), [`stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got a list; ${WHOLE}`]);
  assert.deepEqual(errors(web('replicas: "3"')), ['stack.yml:5:15 services.web.replicas: expected a whole number >= 1, got "3"; write it without quotes: 3']);
  assert.deepEqual(errors(web('replicas:')), [`stack.yml:5:5 services.web.replicas: expected a whole number >= 1, got nothing; ${WHOLE}`]);
});

test('image: no tag, bad name, wrong type', () => {
  const at = (image: string) => ['services:', '  web:', `    image: ${image}`, '    command: [/app/web]'];
  assert.deepEqual(errors(at('web')), ['stack.yml:3:12 services.web.image: invalid image "web": expected NAME:TAG; write it as NAME:TAG, for example site:v1']);
  assert.deepEqual(errors(at('Web:v1')), ['stack.yml:3:12 services.web.image: invalid image name "Web"; use 1-63 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit']);
  assert.deepEqual(errors(at('web:v1:x')), ['stack.yml:3:12 services.web.image: invalid image "web:v1:x": expected NAME:TAG; write it as NAME:TAG, for example site:v1']);
  assert.deepEqual(errors(at('3')), ['stack.yml:3:12 services.web.image: expected NAME:TAG, got 3; write the image as NAME:TAG, for example site:v1']);
});

test('missing required fields point at the key of the service', () => {
  assert.deepEqual(errors(['services:', '  web:', '    replicas: 2']), [
    'stack.yml:2:3 services.web.image: required field is missing; add image: NAME:TAG, for example site:v1',
    'stack.yml:2:3 services.web.command: required field is missing; add command: the program and its arguments as a list, for example ["/usr/bin/python3", "-m", "http.server", "8080"]',
  ]);
  assert.deepEqual(errors(web('health:', '  http: { path: /ok }')), [
    'stack.yml:6:7 services.web.health.http.port: required field is missing; add port: the port the check connects to, for example 8080',
  ]);
});

test('unknown fields, with the allowed ones and a likely meaning', () => {
  assert.deepEqual(errors(web('replica: 3')), [
    'stack.yml:5:5 services.web.replica: unknown field; did you mean "replicas"? allowed fields: image, replicas, command, env, memory, cpus, pids, disk, rw, etc, restart, user, port, publish, health, deploy',
  ]);
  assert.deepEqual(errors(['version: "3"', ...web()]), ['stack.yml:1:1 version: unknown field; allowed fields: lb, services']);
  assert.deepEqual(errors(['service:', '  web: {}']), [
    'stack.yml:1:1 services: required field is missing; add services: with at least one service, for example site: { image: site:v1, command: [...] }',
    'stack.yml:1:1 service: unknown field; did you mean "services"? allowed fields: lb, services',
  ]);
  assert.deepEqual(errors(web('health:', '  http: { port: 80, path: /, method: GET }')), [
    'stack.yml:6:34 services.web.health.http.method: unknown field; allowed fields: port, path, expect',
  ]);
});

test('health: both http and command, neither, timeout not below interval', () => {
  assert.deepEqual(errors(web('health:', '  http: { port: 80, path: / }', '  command: [/app/check]')), [
    'stack.yml:6:7 services.web.health: has both http and command; keep one of them: a health check is either an HTTP request or a command',
  ]);
  assert.deepEqual(errors(web('health: { interval: 10s }')), [
    'stack.yml:5:13 services.web.health: has neither http nor command; add http: { port: 8080, path: /health } or command: ["/app/check"]',
  ]);
  assert.deepEqual(errors(web('health:', '  command: [/c]', '  interval: 5s', '  timeout: 5s')), [
    'stack.yml:8:16 services.web.health.timeout: 5s is not shorter than the interval 5s; use a timeout shorter than 5s, or a longer interval',
  ]);
  assert.deepEqual(errors(web('health:', '  command: [/c]', '  interval: 1s')), [
    'stack.yml:7:17 services.web.health.interval: 1s is not longer than the default timeout 2s; add a timeout shorter than 1s, or use an interval longer than 2s',
  ]);
  assert.deepEqual(errors(web('health:', '  http: { port: 0, path: health }', '  threshold: 0')), [
    'stack.yml:6:21 services.web.health.http.port: expected a whole number from 1 to 65535, got 0; write a whole number, for example 8080',
    'stack.yml:6:30 services.web.health.http.path: invalid path "health"; start with "/" and use printable characters without spaces (percent-encode others), for example /healthz',
    `stack.yml:7:18 services.web.health.threshold: expected a whole number >= 1, got 0; ${WHOLE}`,
  ]);
});

test('durations: no unit, unknown unit', () => {
  assert.deepEqual(errors(web('health: { command: [/c], interval: 5 }')), [
    'stack.yml:5:40 services.web.health.interval: expected a duration with a unit, got 5; add a unit, for example 5s or 5ms',
  ]);
  assert.deepEqual(errors(web('health: { command: [/c], timeout: 2sec }')), [
    'stack.yml:5:39 services.web.health.timeout: invalid duration "2sec"; write a number with a unit ms, s, m or h, for example 500ms, 5s or 1m30s',
  ]);
});

test('limits: size, cpus, pids, by the jail\'s own rules', () => {
  assert.deepEqual(errors(web('memory: 1X')), ['stack.yml:5:13 services.web.memory: invalid size "1X"; write a number with an optional unit K, M, G or T, for example 512M or 20G']);
  assert.deepEqual(errors(web('memory: 1M')), ['stack.yml:5:13 services.web.memory: "1M" is too small; use at least 6.00M']);
  assert.deepEqual(errors(web('cpus: 0')), ['stack.yml:5:11 services.web.cpus: invalid value "0"; give a number of CPUs greater than 0, for example 0.5 or 2']);
  assert.deepEqual(errors(web('cpus: [1]')), ['stack.yml:5:11 services.web.cpus: expected a number of CPUs, got a list; write it as 0.5 or 2']);
  assert.deepEqual(errors(web('pids: 0')), ['stack.yml:5:11 services.web.pids: invalid value "0"; give a whole number of processes from 1 to 4194304, for example 256']);
});

test('disk: not a size, below what a jail needs to start', () => {
  assert.deepEqual(errors(web('disk: lots')), ['stack.yml:5:11 services.web.disk: invalid size "lots"; write a number with an optional unit K, M, G or T, for example 512M or 20G']);
  assert.deepEqual(errors(web('disk: 1M')), ['stack.yml:5:11 services.web.disk: "1M" is too small; use at least 16.0M']);
  assert.deepEqual(errors(web('disk: [2G]')), ['stack.yml:5:11 services.web.disk: expected a size, got a list; write it as 2G']);
  assert.equal(parseStack(web('disk: 2G').join('\n'), 'stack.yml').services.web!.diskBytes, 2 * 1024 ** 3);
});

test('env: bad variable name, a list as value', () => {
  assert.deepEqual(errors(web('env:', '  LOG_LEVEL: info', '  1X: a', '  OK: [1]')), [
    'stack.yml:7:7 services.web.env["1X"]: invalid variable name "1X"; use letters, digits and "_", not starting with a digit, for example LOG_LEVEL',
    'stack.yml:8:11 services.web.env.OK: expected a string, number or true/false, got a list; write one value; quote it if it contains ": " or starts with a special character',
  ]);
  assert.deepEqual(errors(web('env: [A=1]')), ['stack.yml:5:10 services.web.env: expected a map of NAME: value, got a list; write it as a map, for example { LOG_LEVEL: info }']);
});

test('rw: relative, read-only, not normalized', () => {
  assert.deepEqual(errors(web('rw: [var/data, /usr/local, /srv/a/]')), [
    'stack.yml:5:10 services.web.rw[0]: "var/data" is not an absolute path; write the directory as the jail sees it, starting with "/", for example /var/lib/app',
    'stack.yml:5:20 services.web.rw[1]: "/usr/local" is under /usr, which is read-only in every jail; choose a directory elsewhere, for example under /var or /srv',
    'stack.yml:5:32 services.web.rw[2]: "/srv/a/" is not a normalized path; write it as "/srv/a"',
  ]);
});

test('etc: each key and value where it is, overlaps and duplicates at the map', () => {
  assert.deepEqual(errors(web('etc: { /usr/x: /app/x, hosts: host, a: /srv/x, b: 3 }')), [
    'stack.yml:5:12 services.web.etc["/usr/x"]: "/usr/x" is not under /etc; only /etc can be given files this way; put other files in the image under /app or in a --rw directory',
    'stack.yml:5:28 services.web.etc.hosts: /etc/hosts is written by cellblock for every jail; remove it: each jail gets its own /etc/hostname, /etc/hosts, /etc/resolv.conf',
    'stack.yml:5:44 services.web.etc.a: source "/srv/x" of /etc/a is neither a path under /app nor "host"; give a file or directory of the image, for example /app/etc/nginx.conf, or "host" to show the host\'s own file that jails do not see by default',
    'stack.yml:5:55 services.web.etc.b: expected a path under /app or host, got 3; write a file of the image, for example /app/etc/nginx.conf, or host',
  ]);
  assert.deepEqual(errors(web('etc: { nginx: /app/nginx, /etc/nginx/x.conf: host }')), [
    'stack.yml:5:10 services.web.etc: /etc/nginx/x.conf is inside /etc/nginx, which is also given; give one of them: /etc/nginx with all it holds, or only /etc/nginx/x.conf',
  ]);
  assert.deepEqual(errors(web('etc: [a]')), ['stack.yml:5:10 services.web.etc: expected a map of path under /etc: source, got a list; write it as a map, for example { nginx/nginx.conf: /app/etc/nginx.conf }']);
});

test('restart, user, port, command', () => {
  assert.deepEqual(errors(web('restart: sometimes')), ['stack.yml:5:14 services.web.restart: invalid policy "sometimes"; use one of: always, on-failure, no']);
  assert.deepEqual(errors(web('user: "a b"')), ['stack.yml:5:11 services.web.user: invalid user "a b"; write a user name or number, optionally with a group after ":", for example www-data, postgres:postgres or 1000:1000']);
  assert.deepEqual(errors(web('user: [1]')), ['stack.yml:5:11 services.web.user: expected a user name or number, got a list; write it as www-data, 1000 or "postgres:postgres"']);
  assert.deepEqual(errors(web('user: "1:2:3"')), ['stack.yml:5:11 services.web.user: invalid user "1:2:3"; write a user name or number, optionally with a group after ":", for example www-data, postgres:postgres or 1000:1000']);
  assert.deepEqual(errors(web('port: 70000')), ['stack.yml:5:11 services.web.port: expected a whole number from 1 to 65535, got 70000; write a whole number, for example 8080']);
  const cmd = (c: string) => ['services:', '  web:', '    image: web:v1', `    command: ${c}`];
  assert.deepEqual(errors(cmd('python3 -m http.server')), ['stack.yml:4:14 services.web.command: expected a list of strings, got "python3 -m http.server"; write it as a list, for example ["python3", "-m", "http.server"]']);
  assert.deepEqual(errors(cmd('[python3, -m, http.server, 8080]')), ['stack.yml:4:41 services.web.command[3]: expected a string, got 8080; quote it: "8080"']);
  assert.deepEqual(errors(cmd('[]')), ['stack.yml:4:14 services.web.command: the command is empty; write it as a list, for example ["/usr/bin/python3", "-m", "http.server", "8080"]']);
  assert.deepEqual(errors(cmd('["", x]')), ['stack.yml:4:15 services.web.command[0]: the program is empty; give the program to run, for example /usr/bin/python3']);
});

test('services: empty, null, a list, a bad name, a service that is not a map', () => {
  const noServices = 'no services; add at least one service, for example site: { image: site:v1, command: [...] }';
  assert.deepEqual(errors(['services: {}']), [`stack.yml:1:11 services: ${noServices}`]);
  assert.deepEqual(errors(['services:']), [`stack.yml:1:1 services: ${noServices}`]);
  assert.deepEqual(errors(['services: [web]']), ['stack.yml:1:11 services: expected a map from service name to service, got a list; write services: then each service by name, for example site: { image: site:v1, ... }']);
  assert.deepEqual(errors(['services:', '  Web_1:', '    image: web:v1', '    command: [/w]']), [
    'stack.yml:2:3 services.Web_1: invalid service name "Web_1"; use 1-63 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  ]);
  assert.deepEqual(errors(['services:', '  web: web:v1']), ['stack.yml:2:8 services.web: expected a map of fields, got "web:v1"; write it as a map, for example { image: site:v1, command: [...] }']);
});

test('the document: empty, not a map, databases and backups not supported yet', () => {
  assert.deepEqual(errors(['']), ['stack.yml:1:1 the file is empty; start with services: and one service; see examples/stack.yml']);
  assert.deepEqual(errors(['- web']), ['stack.yml:1:1 expected a map with a services: section, got a list; write it as a map, for example services: { site: { image: site:v1, ... } }']);
  assert.deepEqual(errors([...web(), 'databases:', '  main: { members: 3 }', 'backups: {}']), [
    'stack.yml:5:1 databases: databases are not supported yet by this version of cellblock; remove the databases: section, or use a cellblock version that supports it',
    'stack.yml:7:1 backups: backups are not supported yet by this version of cellblock; remove the backups: section, or use a cellblock version that supports it',
  ]);
});

test('YAML: syntax errors, duplicate keys, a second document, an alias without anchor', () => {
  assert.deepEqual(errors(['services:', '  web:', '    image: web:v1', '   command: [/w]']), [
    'stack.yml:4:1 All mapping items must start at the same column; check the indentation, colons, quotes and brackets here',
  ]);
  assert.deepEqual(errors(['services:', '  web:', '    image: web:v1', '    command: [/w', '    replicas: 2']), [
    'stack.yml:5:5 Flow sequence in block collection must be sufficiently indented and end with a ]; check the indentation, colons, quotes and brackets here',
  ]);
  // yaml finds an unclosed quote where the file ends
  assert.deepEqual(errors(['services:', '  web:', '    image: "web:v1', '    command: [/w]']), [
    'stack.yml:5:1 Missing closing "quote; check the indentation, colons, quotes and brackets here',
  ]);
  assert.deepEqual(errors(web('image: web:v2')), ['stack.yml:5:5 services.web.image: duplicate key; give each key once in a map']);
  assert.deepEqual(errors([...web(), '---', 'services: {}']), ['stack.yml:5:1 a second YAML document starts here; keep one document: remove this --- and what follows, or merge it into the first']);
  assert.deepEqual(errors(web('env: *vars')), ['stack.yml:5:10 alias *vars has no anchor; define &vars on a value above it, or write the value out']);
});

test('every error is reported at once, in file order, in one UserError that says how to check again', () => {
  const text = [
    'services:', //                  1
    '  b:', //                       2
    '    image: b', //               3
    '    command: [/b]', //          4
    '    replicas: three', //        5
    '  a:', //                       6
    '    command: [/a]', //          7
    '    memory: lots', //           8
    'extra: 1', //                   9
  ].join('\n');
  let err: unknown;
  try {
    parseStack(text, 'app/stack.yml');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StackError && err instanceof UserError);
  assert.equal(err.message, [
    'app/stack.yml is not a valid stack file (5 errors):',
    '  app/stack.yml:3:12 services.b.image: invalid image "b": expected NAME:TAG; write it as NAME:TAG, for example site:v1',
    `  app/stack.yml:5:15 services.b.replicas: expected a whole number >= 1, got "three"; ${WHOLE}`,
    '  app/stack.yml:6:3 services.a.image: required field is missing; add image: NAME:TAG, for example site:v1',
    '  app/stack.yml:8:13 services.a.memory: invalid size "lots"; write a number with an optional unit K, M, G or T, for example 512M or 20G',
    '  app/stack.yml:9:1 extra: unknown field; allowed fields: lb, services',
  ].join('\n'));
  assert.equal(err.fix, 'correct them, then check the file again with: cellblock stack validate -f app/stack.yml');
  assert.equal(err.file, 'app/stack.yml');
  assert.deepEqual(err.issues[0], { file: 'app/stack.yml', line: 3, col: 12, path: 'services.b.image', message: 'invalid image "b": expected NAME:TAG', fix: 'write it as NAME:TAG, for example site:v1' });
});

test('an error inside merged or aliased values points where the value is written', () => {
  assert.deepEqual(errors(['services:', '  a: &base', '    image: a:v1', '    command: [/a]', '    cpus: lots', '  b:', '    <<: *base', '    replicas: 2']), [
    'stack.yml:5:11 services.a.cpus: invalid value "lots"; give a number of CPUs greater than 0, for example 0.5 or 2',
    'stack.yml:5:11 services.b.cpus: invalid value "lots"; give a number of CPUs greater than 0, for example 0.5 or 2',
  ]);
});

test('a key named __proto__ is refused wherever it is (zod would drop it silently)', () => {
  assert.deepEqual(errors(['services:', '  __proto__:', '    image: a:v1', '    command: [/a]', '  web:', '    image: web:v1', '    command: [/w]', '    env: { __proto__: x }']), [
    'stack.yml:2:3 services.__proto__: a key named __proto__ is not allowed; rename it',
    'stack.yml:8:12 services.web.env.__proto__: a key named __proto__ is not allowed; rename it',
  ]);
});
