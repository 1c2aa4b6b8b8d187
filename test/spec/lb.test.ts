/** The stack file's lb:, publish: and deploy: sections: every field, its default, and each refusal at its line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stackErrors } from '../helpers/spec.js';
import { parseStack } from '../../src/spec/parse.js';
import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';

const errors = stackErrors;
const parse = (lines: readonly string[]) => parseStack(lines.join('\n') + '\n', 'stack.yml');

/** A valid service `web` (lines 1-5, with port 8080) with `extra` fields from line 6 on. */
const web = (...extra: string[]) => ['services:', '  web:', '    image: web:v1', '    command: [/app/web]', '    port: 8080', ...extra.map((l) => `    ${l}`)];
/** `lb:` lines 1-n, then web. */
const withLb = (lb: string[], ...extra: string[]) => ['lb:', ...lb.map((l) => `  ${l}`), ...web(...extra)];

test('the issue\'s example parses into the normalized stack', () => {
  const s = parse([
    'lb:',
    '  vip: 10.231.0.100',
    '  http: 80',
    '  https: 443',
    'services:',
    '  site:',
    '    image: site:v2',
    '    replicas: 3',
    '    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]',
    '    port: 8080',
    '    publish:',
    '      http: [site.example.com, www.example.com]',
    '      tls: { cert: certs/site.crt, key: certs/site.key }',
    '    health: { http: { port: 8080, path: /index.html } }',
    '    deploy: { max_surge: 1, max_unavailable: 0, deadline: 60s, drain: 10s }',
    '  api:',
    '    image: api:v1',
    '    replicas: 2',
    '    command: [/app/api]',
    '    port: 9000',
    '    publish: { tcp: 9000 }',
  ]);
  assert.deepEqual(s.lb, { vip: '10.231.0.100', http: 80, https: 443 });
  assert.deepEqual(s.services.site!.publish, { http: ['site.example.com', 'www.example.com'], tls: { cert: 'certs/site.crt', key: 'certs/site.key' } });
  assert.deepEqual(s.services.site!.deploy, { maxSurge: 1, maxUnavailable: 0, deadlineMs: 60_000, drainMs: 10_000, maxErrorRate: 0.1 });
  assert.deepEqual(s.services.api!.publish, { tcp: 9000 });
  assert.deepEqual(s.services.api!.deploy, DEPLOY_DEFAULTS);
});

test('defaults: lb ports 80 and 443 without vip; no lb: no lb; no publish: no publish', () => {
  assert.deepEqual(parse(withLb(['vip: 10.0.0.9'])).lb, { vip: '10.0.0.9', http: 80, https: 443 });
  assert.deepEqual(parse(withLb(['http: 8080'])).lb, { http: 8080, https: 443 });
  const plain = parse(web());
  assert.equal(plain.lb, undefined);
  assert.equal('lb' in plain, false);
  assert.equal(plain.services.web!.publish, undefined);
  assert.deepEqual(parse(web('publish: { http: ["*.example.com"] }')).services.web!.publish, { http: ['*.example.com'] });
});

test('lb: vip, ports, http equal to https, unknown field', () => {
  assert.deepEqual(errors(withLb(['vip: 10.0.0.300'])), ['stack.yml:2:8 lb.vip: invalid IPv4 address "10.0.0.300"; write four numbers from 0 to 255 separated by dots, for example 10.231.0.100']);
  assert.deepEqual(errors(withLb(['vip: 10.0.0'])), ['stack.yml:2:8 lb.vip: invalid IPv4 address "10.0.0"; write four numbers from 0 to 255 separated by dots, for example 10.231.0.100']);
  assert.deepEqual(errors(withLb(['vip: 7'])), ['stack.yml:2:8 lb.vip: expected an IPv4 address, got 7; write an address of the hosts\' network, for example 10.231.0.100']);
  assert.deepEqual(errors(withLb(['http: 0'])), ['stack.yml:2:9 lb.http: expected a whole number from 1 to 65535, got 0; write a whole number, for example 8080']);
  assert.deepEqual(errors(withLb(['http: 8443', 'https: 8443'])), ['stack.yml:3:10 lb.https: http and https are both port 8443; give https a port of its own, for example 443']);
  assert.deepEqual(errors(withLb(['http: 443'])), ['stack.yml:2:9 lb.http: http and https are both port 443; give https a port of its own, for example 8443']);
  assert.deepEqual(errors(withLb(['vips: 10.0.0.1'])), ['stack.yml:2:3 lb.vips: unknown field; did you mean "vip"? allowed fields: vip, http, https']);
  assert.deepEqual(errors(['lb: 80', ...web()]), ['stack.yml:1:5 lb: expected a map with vip, http and https, got 80; write it as a map, for example { vip: 10.231.0.100, http: 80, https: 443 }']);
});

test('publish: host names, lists, exclusive http and tcp, tls only with http, needs port', () => {
  assert.deepEqual(errors(web('publish: { http: [Site.example.com] }')), ['stack.yml:6:23 services.web.publish.http[0]: invalid host name "Site.example.com"; write it in lowercase: site.example.com']);
  assert.deepEqual(errors(web('publish: { http: [site_1.example.com] }')), ['stack.yml:6:23 services.web.publish.http[0]: invalid host name "site_1.example.com"; use lowercase letters, digits and "-" in dot-separated labels, for example site.example.com, or *.example.com for every name of one level under example.com']);
  assert.deepEqual(errors(web('publish: { http: ["*.com"] }')), ['stack.yml:6:23 services.web.publish.http[0]: invalid host name "*.com"; use lowercase letters, digits and "-" in dot-separated labels, for example site.example.com, or *.example.com for every name of one level under example.com']);
  assert.deepEqual(errors(web('publish: { http: [a.example.com, b.example.com, a.example.com] }')), ['stack.yml:6:53 services.web.publish.http[2]: a.example.com is listed twice; give each host name once']);
  assert.deepEqual(errors(web('publish: { http: [] }')), ['stack.yml:6:22 services.web.publish.http: the list is empty; give at least one host name, for example [site.example.com], or remove http:']);
  assert.deepEqual(errors(web('publish: { http: site.example.com }')), ['stack.yml:6:22 services.web.publish.http: expected a list of host names, got "site.example.com"; write it as a list, for example [site.example.com, www.example.com]']);
  assert.deepEqual(errors(web('publish: { http: [a.example.com], tcp: 9000 }')), ['stack.yml:6:14 services.web.publish: has both http and tcp; keep one of them: a service is published either by host name on the http/https ports or on a TCP port of its own']);
  assert.deepEqual(errors(web('publish: {}')), ['stack.yml:6:14 services.web.publish: has neither http nor tcp; add http: [site.example.com] (virtual hosts) or tcp: 9000 (a port of its own), or remove publish:']);
  assert.deepEqual(errors(web('publish: { tcp: 9000, tls: { cert: a.crt, key: a.key } }')), ['stack.yml:6:32 services.web.publish.tls: tls needs http; tls serves the host names of http: on the https port: publish with http: [site.example.com], or remove tls (a tcp: port is forwarded as it is)']);
  assert.deepEqual(errors(web('publish: { http: [a.example.com], tls: { cert: a.crt } }')), ['stack.yml:6:39 services.web.publish.tls.key: required field is missing; add key: the private key file (PEM), for example certs/site.key']);
  assert.deepEqual(errors(web('publish: { tcp: 70000 }')), ['stack.yml:6:21 services.web.publish.tcp: expected a whole number from 1 to 65535, got 70000; write a whole number, for example 8080']);
  assert.deepEqual(errors(web('publish: { tcp: 9000, udp: 53 }')), ['stack.yml:6:27 services.web.publish.udp: unknown field; did you mean "tcp"? allowed fields: http, tls, tcp, timeout']);
  assert.deepEqual(errors(['services:', '  web:', '    image: web:v1', '    command: [/app/web]', '    publish: { tcp: 9000 }']), [
    'stack.yml:5:5 services.web.publish: publish needs port; add port: the port the service listens on in its jail, for example port: 8080; the load balancer sends its traffic there',
  ]);
});

test('deploy: each field, percentages, both zero, unknown field', () => {
  const d = (line: string) => parse(web(line)).services.web!.deploy;
  assert.deepEqual(d('deploy: { max_surge: 0, max_unavailable: 1, deadline: 1m30s, drain: 500ms, max_error_rate: 5% }'), { maxSurge: 0, maxUnavailable: 1, deadlineMs: 90_000, drainMs: 500, maxErrorRate: 0.05 });
  assert.equal(d('deploy: { max_error_rate: 0.25 }').maxErrorRate, 0.25);
  assert.equal(d('deploy: { max_error_rate: 0 }').maxErrorRate, 0);
  assert.deepEqual(d('deploy: {}'), DEPLOY_DEFAULTS);
  assert.deepEqual(errors(web('deploy: { max_surge: 0 }')), ['stack.yml:6:26 services.web.deploy.max_surge: max_surge and max_unavailable are both 0: a rollout could neither start a new replica first nor stop an old one; allow max_surge: 1 (start a new replica before an old one stops) or max_unavailable: 1 (stop an old one first)']);
  assert.deepEqual(errors(web('deploy: { max_surge: -1 }')), ['stack.yml:6:26 services.web.deploy.max_surge: expected a whole number >= 0, got -1; write a whole number, for example 1']);
  assert.deepEqual(errors(web('deploy: { deadline: 60 }')), ['stack.yml:6:25 services.web.deploy.deadline: expected a duration with a unit, got 60; add a unit, for example 60s or 60ms']);
  assert.deepEqual(errors(web('deploy: { max_error_rate: 5 }')), ['stack.yml:6:31 services.web.deploy.max_error_rate: expected a share from 0 to 1, got 5; write it as a percentage: "5%", or as a share: 0.05']);
  assert.deepEqual(errors(web('deploy: { max_error_rate: 120% }')), ['stack.yml:6:31 services.web.deploy.max_error_rate: invalid error rate "120%"; write a percentage such as "5%" or a share from 0 to 1 such as 0.05']);
  assert.deepEqual(errors(web('deploy: { surge: 1 }')), ['stack.yml:6:15 services.web.deploy.surge: unknown field; allowed fields: max_surge, max_unavailable, deadline, drain, max_error_rate']);
});

test('claims within one file: a host name or TCP port twice, a TCP port of the lb', () => {
  const two = (a: string, b: string, lb: string[] = []) => [
    ...(lb.length ? ['lb:', ...lb.map((l) => `  ${l}`)] : []),
    'services:',
    '  a:', '    image: a:v1', '    command: [/a]', '    port: 80', `    publish: ${a}`,
    '  b:', '    image: b:v1', '    command: [/b]', '    port: 80', `    publish: ${b}`,
  ];
  assert.deepEqual(errors(two('{ http: [x.example.com, y.example.com] }', '{ http: [y.example.com] }')), [
    'stack.yml:11:23 services.b.publish.http[0]: y.example.com is already published by service a; publish each host name from one service only: remove it here or from a',
  ]);
  assert.deepEqual(errors(two('{ tcp: 9000 }', '{ tcp: 9000 }')), [
    'stack.yml:11:21 services.b.publish.tcp: port 9000 is already published by service a; give each service a TCP port of its own: change it here or in a',
  ]);
  assert.deepEqual(errors(two('{ tcp: 443 }', '{ tcp: 9000 }')), [
    'stack.yml:6:21 services.a.publish.tcp: port 443 is the load balancer\'s https port (lb.https, the default); publish the service on another TCP port, or give lb.https another port',
  ]);
  assert.deepEqual(errors(two('{ tcp: 8080 }', '{ tcp: 9000 }', ['http: 8080'])), [
    'stack.yml:8:21 services.a.publish.tcp: port 8080 is the load balancer\'s http port (lb.http); publish the service on another TCP port, or give lb.http another port',
  ]);
  // a wildcard and a name under it are different virtual hosts
  parse(two('{ http: ["*.example.com"] }', '{ http: [a.example.com] }'));
});

test('a health path without a leading slash is refused at its line', () => {
  assert.deepEqual(errors(web('health: { http: { port: 8080, path: index.html } }')), [
    'stack.yml:6:41 services.web.health.http.path: invalid path "index.html"; start with "/" and use printable characters without spaces (percent-encode others), for example /healthz',
  ]);
});
