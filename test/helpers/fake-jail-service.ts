/**
 * An in-memory JailService for testing the API layer and the CLI: records every call, keeps
 * jails in a map, and throws whatever a test queues with fail().
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ExecOutput, ExecRequest, JailCreateRequest, JailInspect, JailService, JailView, LogsRequest } from '../../src/jail/service.js';
import type { RestartPolicy } from '../../src/jail/model.js';
import { ExistsError, NotFoundError } from '../../src/sys/errors.js';
import { parseSize } from '../../src/sys/size.js';

export interface Call { method: string; args: unknown[] }

export interface LogSession { name: string; req: LogsRequest; stream: PassThrough; aborted: boolean }

export class FakeJailService implements JailService {
  readonly calls: Call[] = [];
  readonly jails = new Map<string, { view: JailView; req: JailCreateRequest }>();
  readonly logSessions: LogSession[] = [];
  closed = false;
  /** What exec() returns. */
  execResult: ExecOutput = { exitCode: 0, stdout: 'out\n', stderr: '' };
  /** Lines logs() writes first. */
  logLines = ['2024-01-01T00:00:00Z stdout hello', '2024-01-01T00:00:01Z stderr world'];
  private failures = new Map<string, unknown>();

  /** The next call of `method` throws `err`. */
  fail(method: keyof JailService, err: unknown): void {
    this.failures.set(method, err);
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.failures.get(method);
    if (err !== undefined) {
      this.failures.delete(method);
      throw err;
    }
  }

  private get(name: string) {
    const j = this.jails.get(name);
    if (!j) throw new NotFoundError(`no such jail ${JSON.stringify(name)}`, 'run: cellblock jail ls');
    return j;
  }

  async create(req: JailCreateRequest): Promise<JailView> {
    this.record('create', req);
    if (this.jails.has(req.name)) throw new ExistsError(`jail ${req.name} already exists`, 'choose another name or remove it first');
    const view: JailView = {
      name: req.name, image: req.image, ip: req.ip ?? `10.77.0.${this.jails.size + 2}`,
      state: req.start ? 'running' : 'created', pid: req.start ? 4242 : null,
      restart: (req.restart ?? 'no') as RestartPolicy, restarts: 0, lastExitCode: null, lastExitReason: null,
      command: req.command, createdAt: '2024-01-01T00:00:00.000Z', startedAt: req.start ? '2024-01-01T00:00:01.000Z' : null,
    };
    this.jails.set(req.name, { view, req });
    return view;
  }

  async start(name: string): Promise<JailView> {
    this.record('start', name);
    const j = this.get(name);
    Object.assign(j.view, { state: 'running', pid: 4242, startedAt: '2024-01-01T00:00:01.000Z' });
    return j.view;
  }

  async stop(name: string, opts?: { timeoutSeconds?: number }): Promise<JailView> {
    this.record('stop', name, opts);
    const j = this.get(name);
    Object.assign(j.view, { state: 'stopped', pid: null, lastExitCode: 143, lastExitReason: 'stopped' });
    return j.view;
  }

  async restart(name: string): Promise<JailView> {
    this.record('restart', name);
    const j = this.get(name);
    Object.assign(j.view, { state: 'running', pid: 4343 });
    return j.view;
  }

  async setDisk(name: string, disk: string): Promise<JailView> {
    this.record('setDisk', name, disk);
    const j = this.get(name);
    j.view.disk = { limitBytes: parseSize('disk', disk), usedBytes: 0, enforced: true };
    return j.view;
  }

  async remove(name: string, opts?: { force?: boolean }): Promise<void> {
    this.record('remove', name, opts);
    this.get(name);
    this.jails.delete(name);
  }

  async list(): Promise<JailView[]> {
    this.record('list');
    return [...this.jails.values()].map((j) => j.view);
  }

  async inspect(name: string): Promise<JailInspect> {
    this.record('inspect', name);
    const { view, req } = this.get(name);
    const [uid, gid] = (req.user ?? '1000:1000').split(':').map(Number);
    return {
      ...view,
      spec: {
        memoryBytes: req.memory ? parseSize('memory', req.memory) : null,
        cpus: req.cpus ? Number(req.cpus) : null,
        pids: req.pids ? Number(req.pids) : 512,
        diskBytes: req.disk ? parseSize('disk', req.disk) : 1024 ** 3,
        env: Object.fromEntries((req.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
        user: { uid: uid!, gid: gid ?? uid! },
        rw: req.rw ?? [],
      },
      usage: {
        memory: { limitBytes: req.memory ? parseSize('memory', req.memory) : null, usageBytes: Math.round(12.3 * 1024 * 1024), oomKills: 0 },
        cpu: { cpus: req.cpus ? Number(req.cpus) : null, usageSeconds: 1.25 },
        pids: { limit: 256, current: 3 },
        diskExclusiveBytes: 4096,
      },
      paths: { bundle: `/d/jails/${name}/bundle`, writable: `/d/pools/default/jails/${name}`, log: `/d/jails/${name}/log`, netns: `/run/netns/cb-${name}@x` },
      hostInterface: 'cbv0123456789ab',
    };
  }

  async exec(name: string, req: ExecRequest): Promise<ExecOutput> {
    this.record('exec', name, req);
    this.get(name);
    return this.execResult;
  }

  async logs(name: string, req: LogsRequest): Promise<Readable> {
    this.record('logs', name, { follow: req.follow, tail: req.tail });
    this.get(name);
    const stream = new PassThrough();
    const session: LogSession = { name, req, stream, aborted: false };
    this.logSessions.push(session);
    req.signal?.addEventListener('abort', () => { session.aborted = true; stream.destroy(); }, { once: true });
    const lines = req.tail !== undefined ? this.logLines.slice(-req.tail || this.logLines.length) : this.logLines;
    for (const l of req.tail === 0 ? [] : lines) stream.write(l + '\n');
    if (!req.follow) stream.end();
    return stream;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
