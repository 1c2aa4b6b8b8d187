/**
 * The stack-file schema: strict zod objects (an unknown key is an error that lists the
 * allowed ones) whose scalar fields are the parsers of fields.ts. Parsing yields the
 * normalized Stack of types.ts directly. Locating issues in the file is parse.ts's job; an
 * issue here carries a path, a message, and in `params` the fix and whether it is about a
 * key (`on: 'key'`: an invalid service name, a reserved section) or the value.
 */
import * as z from 'zod';
import { UserError } from '../sys/errors.js';
import { checkName } from '../sys/names.js';
import { DEFAULT_PIDS, parseRw } from '../jail/model.js';
import { checkEtcMap, type EtcSpec } from '../jail/etc-spec.js';
import * as f from './fields.js';
import { formatDuration } from './duration.js';
import { DEFAULT_REPLICAS, DEFAULT_SERVICE_RESTART, DEPLOY_DEFAULTS, HEALTH_DEFAULTS, LB_DEFAULTS, type DeploySpec, type HealthSpec, type LbSpec, type PublishSpec, type ServiceSpec, type Stack } from './types.js';
import { fileClaimProblems } from '../lb/claims.js';

export interface IssueParams { fix?: string; on?: 'key' | 'value' }

type Ctx = { addIssue(issue: { code: 'custom'; message: string; input?: unknown; path?: PropertyKey[]; params?: IssueParams }): void };

function report(ctx: Ctx, e: unknown, input: unknown, path: PropertyKey[] = [], on: IssueParams['on'] = 'value'): void {
  if (!(e instanceof UserError)) throw e;
  ctx.addIssue({ code: 'custom', message: e.message, input, path, params: { fix: e.fix, on } });
}

/** A scalar field: `parse` throws a UserError for a bad value. Absent is an error only if `required` gives the fix. */
function field<T>(parse: (v: unknown) => T, required: string): z.ZodType<T>;
function field<T>(parse: (v: unknown) => T): z.ZodType<T | undefined>;
function field<T>(parse: (v: unknown) => T, required?: string): z.ZodType<T | undefined> {
  const schema = z.unknown().transform((v, ctx) => {
    if (v === undefined) {
      if (required === undefined) return undefined;
      ctx.addIssue({ code: 'custom', message: 'required field is missing', input: v, params: { fix: required } });
      return z.NEVER;
    }
    try {
      return parse(v);
    } catch (e) {
      report(ctx, e, v);
      return z.NEVER;
    }
  });
  // zod refuses an absent key unless its schema is optional; a required one reports "missing" itself
  return required === undefined ? schema.optional() : schema;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the container type first (`expected a map, got "x"`), then hands over to `inner`. */
function shaped<S extends z.ZodType>(is: (v: unknown) => boolean, what: string, fix: (v: unknown) => string, inner: S, required?: string) {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined && required !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'required field is missing', input: v, params: { fix: required } });
      return z.NEVER;
    }
    if (!is(v)) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${f.describe(v)}`, input: v, params: { fix: fix(v) } });
      return z.NEVER;
    }
    return v;
  }).pipe(inner);
}

/**
 * A strict object. zod reports unknown keys as one `unrecognized_keys` issue without the
 * schema; its message is set here to the allowed keys, comma-separated, for parse.ts.
 */
function strict<S extends z.ZodRawShape>(shape: S, allowed: string[] = Object.keys(shape)) {
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? allowed.join(', ') : undefined) });
}

const map = <S extends z.ZodType>(what: string, example: string, inner: S, required?: string) =>
  shaped(isMap, what, () => `write it as a map, for example ${example}`, inner, required);

const command = (required?: string) => shaped(Array.isArray, 'a list of strings', f.commandFix, z.array(field(f.arg, 'give a string')), required)
  .transform((argv, ctx) => {
    if (argv.length === 0) ctx.addIssue({ code: 'custom', message: 'the command is empty', input: argv, params: { fix: f.commandFix(undefined) } });
    else if (argv[0] === '') ctx.addIssue({ code: 'custom', message: 'the program is empty', input: argv[0], path: [0], params: { fix: 'give the program to run, for example /usr/bin/python3' } });
    return argv as string[];
  });

const httpShape = {
  port: field(f.port, 'add port: the port the check connects to, for example 8080'),
  path: field(f.httpPath, 'add path: the path the check requests, for example /health'),
  expect: field(f.httpStatus),
};
const http = map('a map with port and path', '{ port: 8080, path: /health }', strict(httpShape));

const healthShape = {
  http: http.optional(),
  command: command().optional(),
  interval: field(f.duration),
  timeout: field(f.duration),
  threshold: field(f.threshold),
};
const health = map('a map with http or command', '{ http: { port: 8080, path: /health } }', strict(healthShape).superRefine((h, ctx) => {
  const raw: unknown = h;
  if (!isMap(raw)) return;
  const has = (k: string) => raw[k] !== undefined;
  if (has('http') && has('command')) {
    ctx.addIssue({ code: 'custom', message: 'has both http and command', input: h, params: { fix: 'keep one of them: a health check is either an HTTP request or a command' } });
  } else if (!has('http') && !has('command')) {
    ctx.addIssue({ code: 'custom', message: 'has neither http nor command', input: h, params: { fix: 'add http: { port: 8080, path: /health } or command: ["/app/check"]' } });
  }
}, { when: () => true }).transform((h, ctx): HealthSpec => {
  const intervalMs = h.interval ?? HEALTH_DEFAULTS.intervalMs;
  const timeoutMs = h.timeout ?? HEALTH_DEFAULTS.timeoutMs;
  if (timeoutMs >= intervalMs) {
    const [i, t] = [formatDuration(intervalMs), formatDuration(timeoutMs)];
    if (h.timeout !== undefined) ctx.addIssue({ code: 'custom', message: `${t} is not shorter than the interval ${i}`, input: h.timeout, path: ['timeout'], params: { fix: `use a timeout shorter than ${i}, or a longer interval` } });
    else ctx.addIssue({ code: 'custom', message: `${i} is not longer than the default timeout ${t}`, input: h.interval, path: ['interval'], params: { fix: `add a timeout shorter than ${i}, or use an interval longer than ${t}` } });
  }
  const timing = { intervalMs, timeoutMs, threshold: h.threshold ?? HEALTH_DEFAULTS.threshold };
  return h.http
    ? { kind: 'http', port: h.http.port, path: h.http.path, expectStatus: h.http.expect ?? HEALTH_DEFAULTS.expectStatus, ...timing }
    : { kind: 'command', command: h.command!, ...timing };
}));

const env = map('a map of NAME: value', '{ LOG_LEVEL: info }', z.record(z.string(), z.unknown()))
  .transform((vars, ctx) => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(vars)) {
      try {
        f.envKey(key);
      } catch (e) {
        report(ctx, e, key, [key], 'key');
        continue;
      }
      try {
        out[key] = f.envValue(key, value);
      } catch (e) {
        report(ctx, e, value, [key]);
      }
    }
    return out;
  });

const rw = shaped(Array.isArray, 'a list of directories', () => 'write it as a list, for example [/var/lib/app]', z.array(field(f.rwPath, 'give a directory')))
  .transform((dirs) => parseRw(dirs));

/** `etc: { nginx/nginx.conf: /app/etc/nginx.conf, ssl/private: host }`: keys and values checked one by one, then together. */
const etc = map('a map of path under /etc: source', '{ nginx/nginx.conf: /app/etc/nginx.conf }', z.record(z.string(), z.unknown()))
  .transform((entries, ctx): EtcSpec => {
    const ok: [string, string][] = [];
    for (const [key, value] of Object.entries(entries)) {
      let path: string;
      try {
        path = f.etcPath(key);
      } catch (e) {
        report(ctx, e, key, [key], 'key');
        continue;
      }
      try {
        ok.push([key, f.etcSource(path, value)]);
      } catch (e) {
        report(ctx, e, value, [key]);
      }
    }
    try {
      return checkEtcMap(ok, 'etc');
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      report(ctx, new UserError(e.message.replace(/^etc: /, ''), e.fix), entries);
      return {};
    }
  });

/** `publish.http`: a non-empty list of host names, each once. */
const hostNames = shaped(Array.isArray, 'a list of host names', () => 'write it as a list, for example [site.example.com, www.example.com]', z.array(field(f.hostName, 'give a host name')))
  .transform((names, ctx) => {
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'the list is empty', input: names, params: { fix: 'give at least one host name, for example [site.example.com], or remove http:' } });
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', message: `${n} is listed twice`, input: n, path: [i], params: { fix: 'give each host name once' } });
    });
    return names as string[];
  });

const tlsShape = {
  cert: field(f.tlsFile, 'add cert: the certificate file (PEM), for example certs/site.crt'),
  key: field(f.tlsFile, 'add key: the private key file (PEM), for example certs/site.key'),
};
const tls = map('a map with cert and key', '{ cert: certs/site.crt, key: certs/site.key }', strict(tlsShape));

const publishShape = {
  http: hostNames.optional(),
  tls: tls.optional(),
  tcp: field(f.port),
  timeout: field(f.duration),
};
const publish = map('a map with http or tcp', '{ http: [site.example.com] } or { tcp: 9000 }', strict(publishShape).superRefine((p, ctx) => {
  const raw: unknown = p;
  if (!isMap(raw)) return;
  const has = (k: string) => raw[k] !== undefined;
  if (has('http') && has('tcp')) {
    ctx.addIssue({ code: 'custom', message: 'has both http and tcp', input: p, params: { fix: 'keep one of them: a service is published either by host name on the http/https ports or on a TCP port of its own' } });
  } else if (!has('http') && !has('tcp')) {
    ctx.addIssue({ code: 'custom', message: 'has neither http nor tcp', input: p, params: { fix: 'add http: [site.example.com] (virtual hosts) or tcp: 9000 (a port of its own), or remove publish:' } });
  } else if (has('tls') && !has('http')) {
    ctx.addIssue({ code: 'custom', message: 'tls needs http', input: raw.tls, path: ['tls'], params: { fix: 'tls serves the host names of http: on the https port: publish with http: [site.example.com], or remove tls (a tcp: port is forwarded as it is)' } });
  }
}, { when: () => true }).transform((p): PublishSpec => ({
  ...(p.http !== undefined ? { http: p.http } : {}),
  ...(p.tls !== undefined ? { tls: { cert: p.tls.cert, key: p.tls.key } } : {}),
  ...(p.tcp !== undefined ? { tcp: p.tcp } : {}),
  ...(p.timeout !== undefined ? { timeoutMs: p.timeout } : {}),
})));

const deployShape = {
  max_surge: field(f.replicaCount),
  max_unavailable: field(f.replicaCount),
  deadline: field(f.duration),
  drain: field(f.duration),
  max_error_rate: field(f.errorRate),
};
const deploy = map('a map of rollout settings', '{ max_surge: 1, max_unavailable: 0, deadline: 60s, drain: 10s }', strict(deployShape).transform((d, ctx): DeploySpec => {
  const out: DeploySpec = {
    maxSurge: d.max_surge ?? DEPLOY_DEFAULTS.maxSurge,
    maxUnavailable: d.max_unavailable ?? DEPLOY_DEFAULTS.maxUnavailable,
    deadlineMs: d.deadline ?? DEPLOY_DEFAULTS.deadlineMs,
    drainMs: d.drain ?? DEPLOY_DEFAULTS.drainMs,
    maxErrorRate: d.max_error_rate ?? DEPLOY_DEFAULTS.maxErrorRate,
  };
  if (out.maxSurge === 0 && out.maxUnavailable === 0) {
    ctx.addIssue({ code: 'custom', message: 'max_surge and max_unavailable are both 0: a rollout could neither start a new replica first nor stop an old one', input: d,
      path: [d.max_surge !== undefined ? 'max_surge' : 'max_unavailable'],
      params: { fix: 'allow max_surge: 1 (start a new replica before an old one stops) or max_unavailable: 1 (stop an old one first)' } });
  }
  return out;
}));

const serviceShape = {
  image: field(f.image, 'add image: NAME:TAG, for example site:v1'),
  replicas: field(f.replicas),
  command: command('add command: the program and its arguments as a list, for example ["/usr/bin/python3", "-m", "http.server", "8080"]'),
  env: env.optional(),
  memory: field(f.memory),
  cpus: field(f.cpus),
  pids: field(f.pids),
  disk: field(f.disk),
  rw: rw.optional(),
  etc: etc.optional(),
  restart: field(f.restart),
  user: field(f.user),
  port: field(f.port),
  publish: publish.optional(),
  health: health.optional(),
  deploy: deploy.optional(),
};
const service = map('a map of fields', '{ image: site:v1, command: [...] }', strict(serviceShape).superRefine((s, ctx) => {
  const raw: unknown = s;
  if (isMap(raw) && raw.publish !== undefined && raw.port === undefined) {
    ctx.addIssue({ code: 'custom', message: 'publish needs port', input: raw.publish, path: ['publish'],
      params: { fix: 'add port: the port the service listens on in its jail, for example port: 8080; the load balancer sends its traffic there', on: 'key' } });
  }
}, { when: () => true }).transform((s): Omit<ServiceSpec, 'name'> => ({
  image: s.image,
  replicas: s.replicas ?? DEFAULT_REPLICAS,
  command: s.command,
  env: s.env ?? {},
  ...(s.memory !== undefined ? { memoryBytes: s.memory } : {}),
  ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
  pids: s.pids ?? DEFAULT_PIDS,
  ...(s.disk !== undefined ? { diskBytes: s.disk } : {}),
  rw: s.rw ?? [],
  ...(s.etc !== undefined && Object.keys(s.etc).length > 0 ? { etc: s.etc } : {}),
  restart: s.restart ?? DEFAULT_SERVICE_RESTART,
  deploy: s.deploy ?? { ...DEPLOY_DEFAULTS },
  user: s.user ?? { uid: 0, gid: 0 },
  ...(s.port !== undefined ? { port: s.port } : {}),
  ...(s.publish !== undefined ? { publish: s.publish } : {}),
  ...(s.health !== undefined ? { health: s.health } : {}),
})));

/** `services:` with nothing after it reads as null: reported as "no services", like `services: {}`. */
const services = z.unknown().transform((v): unknown => (v === null ? {} : v)).pipe(shaped(isMap, 'a map from service name to service',
  () => 'write services: then each service by name, for example site: { image: site:v1, ... }',
  z.record(z.string(), service),
  'add services: with at least one service, for example site: { image: site:v1, command: [...] }',
)).superRefine((all, ctx) => {
  if (!isMap(all)) return;
  if (Object.keys(all).length === 0) {
    ctx.addIssue({ code: 'custom', message: 'no services', input: all, params: { fix: 'add at least one service, for example site: { image: site:v1, command: [...] }' } });
  }
  for (const name of Object.keys(all)) {
    try {
      checkName('service', name);
      if (name.includes('.')) throw new UserError(`invalid service name ${JSON.stringify(name)}: it contains "."`, 'use lowercase letters, digits, "_" or "-" (a replica\'s jail is named STACK.SERVICE.N)');
    } catch (e) {
      report(ctx, e, name, [name], 'key');
    }
  }
}, { when: () => true }).transform((all) => Object.fromEntries(Object.entries(all).map(([name, s]) => [name, { name, ...s } as ServiceSpec])));

/** A section later versions will read. Refused by name, so a file written for them fails loudly instead of half-applying. */
const reserved = (key: string) => z.unknown().transform((v, ctx): undefined => {
  ctx.addIssue({ code: 'custom', message: `${key} are not supported yet by this version of cellblock`, input: v,
    params: { fix: `remove the ${key}: section, or use a cellblock version that supports it`, on: 'key' } });
}).optional();

const lbShape = {
  vip: field(f.ipv4),
  http: field(f.port),
  https: field(f.port),
};
/** `lb:`: the cluster's ports and floating address; defaults filled in. */
const lb = map('a map with vip, http and https', '{ vip: 10.231.0.100, http: 80, https: 443 }', strict(lbShape).transform((l, ctx): LbSpec => {
  const out: LbSpec = { ...(l.vip !== undefined ? { vip: l.vip } : {}), http: l.http ?? LB_DEFAULTS.http, https: l.https ?? LB_DEFAULTS.https };
  if (out.http === out.https) {
    const at = l.https !== undefined ? 'https' : 'http';
    ctx.addIssue({ code: 'custom', message: `http and https are both port ${out.http}`, input: out.https, path: [at],
      params: { fix: `give https a port of its own, for example ${out.http === 443 ? 8443 : 443}` } });
  }
  return out;
}));

/** The whole file. The top level lists `lb` and `services` as allowed: the reserved ones are refused by name. */
export const stackSchema = map('a map with a services: section', 'services: { site: { image: site:v1, ... } }',
  strict({ lb: lb.optional(), services, databases: reserved('databases'), backups: reserved('backups') }, ['lb', 'services'])
    .transform((s): Stack => ({ ...(s.lb !== undefined ? { lb: s.lb } : {}), services: s.services }))
    // claims between the services of the file: a host name or TCP port published twice, a TCP port of the lb's own
    .superRefine((s, ctx) => {
      for (const p of fileClaimProblems(s)) ctx.addIssue({ code: 'custom', message: p.message, input: undefined, path: p.path, params: { fix: p.fix } });
    }));

/** The fields each level allows, in the order the docs list them (docs and tests check against these). */
export const FIELDS = {
  top: ['lb', 'services'],
  reserved: ['databases', 'backups'],
  lb: Object.keys(lbShape),
  service: Object.keys(serviceShape),
  health: Object.keys(healthShape),
  http: Object.keys(httpShape),
  publish: Object.keys(publishShape),
  tls: Object.keys(tlsShape),
  deploy: Object.keys(deployShape),
} as const;
