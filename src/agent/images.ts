/**
 * Image distribution between agents. Every agent announces the images it holds under
 * images/<name>/<tag>/<host> (attached to its lease, so a dead host stops being a source).
 * A host that needs an image pulls it from a live holder over the mTLS API: it sends the
 * images it has, the holder picks the newest ancestor of the wanted tag among them and
 * sends an incremental stream against it (a full one when none), and the receiver imports it
 * with the usual checks (header, parent present, sha256 trailer) before anything uses it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type HostLive, type ImageHolder } from '../cluster/model.js';
import { K } from '../cluster/keys.js';
import type { HostLease } from '../cluster/lease.js';
import type { Store } from '../cluster/store.js';
import { ApiClient } from '../api/client.js';
import type { HostPull, PullResult } from '../api/contract.js';
import type { PushProgress } from './http/services.js';
import type { TlsMaterial } from '../api/peer.js';
import { openPool, DEFAULT_POOL } from '../storage/pools.js';
import { exportImage, importImage } from '../storage/images/transfer.js';
import { getImage, imagesDir, listImages, readImage, type ImageRecord } from '../storage/images/store.js';
import { logged, logWarn } from '../sys/log.js';
import { NotFoundError, UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../sys/names.js';

export type { HostPull, PullResult } from '../api/contract.js';

export interface ImageServiceOptions {
  store: Store;
  host: string;
  dataDir: string;
  exec: Exec;
  log: Logger;
  /** This host's TLS material; undefined on a single host (nothing to pull from). */
  tls: TlsMaterial | undefined;
}

/** How long after the last change of DATA_DIR/images the holder keys are rewritten. */
const ANNOUNCE_DEBOUNCE_MS = 100;
/** Holder keys are rewritten this often even without a change (a failed write is repaired). */
const ANNOUNCE_BACKSTOP_MS = 60_000;

/** The newest ancestor of `rec` (following parents) that is in `have`, or undefined. */
export async function newestSharedAncestor(dataDir: string, rec: ImageRecord, have: ReadonlySet<string>): Promise<ImageRef | undefined> {
  const seen = new Set<string>();
  let p = rec.parent;
  while (p && !seen.has(formatImageRef(p))) {
    const ref = formatImageRef(p);
    if (have.has(ref)) return p;
    seen.add(ref);
    p = (await readImage(dataDir, p))?.parent ?? null;
  }
  return undefined;
}

export class ImageService {
  private lease: HostLease | undefined;
  private written = new Set<string>();
  private readonly pulls = new Map<string, Promise<PullResult>>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private backstop: NodeJS.Timeout | undefined;
  private announcing: Promise<void> | undefined;
  private announceAgain: Promise<void> | undefined;

  constructor(private readonly o: ImageServiceOptions) {}

  /**
   * Announces again whenever an image record under DATA_DIR/images changes (an `image build`
   * or `import` by the CLI, a pull, an `image rm`): inotify, no polling.
   */
  async watchLocal(): Promise<void> {
    const dir = imagesDir(this.o.dataDir);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    this.watcher = watch(dir, { recursive: true, persistent: false }, () => {
      if (this.debounce) return;
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        void this.announce().catch(logged(this.o.log, 'announcing images after a change failed; the next change or lease retries'));
      }, ANNOUNCE_DEBOUNCE_MS);
      this.debounce.unref();
    });
    this.watcher.on('error', logged(this.o.log, 'watching the image records failed; images are announced at lease time, after pulls and by the backstop'));
    // repairs a holder key a failed put or delete left wrong
    this.backstop = setInterval(() => void this.announce().catch(logged(this.o.log, 'announcing images failed; retrying in a minute')), ANNOUNCE_BACKSTOP_MS);
    this.backstop.unref();
  }

  async isLocal(ref: ImageRef): Promise<boolean> {
    return (await readImage(this.o.dataDir, ref)) !== undefined;
  }

  /** Holder keys go on this lease from now on. */
  async useLease(lease: HostLease): Promise<void> {
    this.lease = lease;
    this.written.clear();
    await this.announce();
  }

  /**
   * Writes images/<name>/<tag>/<host> for every local image, and deletes the ones gone. One at
   * a time: a call while one runs waits for it and then runs once more (a listing made before
   * an image was removed must not put its key back after a newer announce deleted it).
   */
  announce(): Promise<void> {
    if (this.announcing) {
      this.announceAgain ??= this.announcing.catch(() => undefined).then(() => { this.announceAgain = undefined; return this.announce(); }); // the first caller gets its own failure
      return this.announceAgain;
    }
    this.announcing = this.announceOnce().finally(() => { this.announcing = undefined; });
    return this.announcing;
  }

  private async announceOnce(): Promise<void> {
    const lease = this.lease;
    if (!lease?.alive) return;
    const local = await listImages(this.o.dataDir);
    const now = new Set<string>();
    for (const r of local) {
      const key = K.imageHolder(r.name, r.tag, this.o.host);
      now.add(key);
      if (this.written.has(key)) continue;
      const holder: ImageHolder = { host: this.o.host, parent: r.parent ? formatImageRef(r.parent) : null, at: new Date().toISOString() };
      await this.o.store.putJson(key, holder, lease.id);
      this.written.add(key);
    }
    for (const key of [...this.written]) {
      if (now.has(key)) continue;
      await this.o.store.delete(key); // a failure keeps it in `written`: the next announce deletes it
      this.written.delete(key);
    }
  }

  /** Makes NAME:TAG present here, pulling it from a live holder; one pull per image at a time. */
  pull(image: string): Promise<PullResult> {
    const ref = parseImageRef(image);
    const key = formatImageRef(ref);
    let p = this.pulls.get(key);
    if (!p) {
      p = this.doPull(ref).finally(() => this.pulls.delete(key));
      this.pulls.set(key, p);
    }
    return p;
  }

  private async doPull(ref: ImageRef): Promise<PullResult> {
    const image = formatImageRef(ref);
    const t0 = Date.now();
    if (await readImage(this.o.dataDir, ref)) return { image, from: null, since: null, bytes: 0, seconds: 0 };
    const tls = this.o.tls;
    const [holders, liveHosts] = await Promise.all([this.o.store.listJson<ImageHolder>(K.imageHolders(ref.name, ref.tag)), this.o.store.mapJson<HostLive>(K.hostsLive)]);
    const sources = holders.map((e) => e.value.host).filter((h) => h !== this.o.host && liveHosts.has(h)).sort();
    if (sources.length === 0 || !tls) {
      throw new NotFoundError(`image ${image} is not on this host and no live host announces it`, `build or import it on one host of the cluster (cellblock image build ${image} DIR), then run: cellblock image push ${image}`);
    }
    const have = (await listImages(this.o.dataDir)).map((r) => formatImageRef(r));
    let lastErr: unknown;
    for (const source of sources) {
      const peer = liveHosts.get(source)!;
      try {
        const res = await ApiClient.forPeer(tls, { name: source, address: peer.address, apiPort: peer.apiPort }).stream('imageStream', { params: ref, body: { have } }, { timeoutMs: 30_000 });
        const driver = await openPool({ exec: this.o.exec, dataDir: this.o.dataDir }, DEFAULT_POOL, { create: true });
        let bytes = 0;
        let since: string | null = null;
        await importImage({
          dataDir: this.o.dataDir, driver, input: res,
          onHeader: (h) => { since = h.parent ? formatImageRef(h.parent) : null; },
          onProgress: (b) => { bytes = b; },
        });
        const result: PullResult = { image, from: source, since, bytes, seconds: (Date.now() - t0) / 1000 };
        this.o.log.info(result, `pulled image ${image} from ${source} (${since ? `incremental against ${since}` : 'full stream'}, ${bytes} bytes)`);
        await this.announce().catch(logged(this.o.log, 'announcing a pulled image failed; the next change or lease retries'));
        return result;
      } catch (err) {
        lastErr = err;
        logWarn(this.o.log, err, 'pulling an image from this host failed; trying the next holder', { image, source });
        if (await readImage(this.o.dataDir, ref)) return { image, from: source, since: null, bytes: 0, seconds: (Date.now() - t0) / 1000 };
      }
    }
    throw lastErr instanceof Error ? lastErr : new UserError(`pulling ${image} failed`);
  }

  /**
   * Serves NAME:TAG as an image stream to a peer that holds `have`: incremental against the
   * newest ancestor it has, full otherwise.
   */
  async serve(ref: ImageRef, have: string[], res: ServerResponse): Promise<void> {
    const rec = await getImage(this.o.dataDir, ref);
    const since = await newestSharedAncestor(this.o.dataDir, rec, new Set(have));
    const driver = await openPool({ exec: this.o.exec, dataDir: this.o.dataDir }, rec.pool);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', 'x-cellblock-since': since ? formatImageRef(since) : '' });
    const r = await exportImage({ dataDir: this.o.dataDir, driver, ref, ...(since ? { since } : {}), out: res });
    res.end();
    this.o.log.info({ image: formatImageRef(ref), since: since ? formatImageRef(since) : null, bytes: r.payloadBytes }, 'served an image stream');
  }

  /** Hosts that announce NAME:TAG. */
  async holders(ref: ImageRef): Promise<string[]> {
    return (await this.o.store.listJson<ImageHolder>(K.imageHolders(ref.name, ref.tag))).map((e) => e.value.host).sort();
  }

  /** Announces NAME:TAG, then has every other live host pull it (incremental where it can). */
  async push(image: string, on: PushProgress = {}): Promise<{ image: string; hosts: HostPull[] }> {
    const ref = parseImageRef(image);
    if (!(await this.isLocal(ref))) throw new NotFoundError(`image ${image} is not on this host`, `build or import it here first: cellblock image build ${image} DIR`);
    await this.announce();
    const live = [...(await this.o.store.mapJson<HostLive>(K.hostsLive)).values()].filter((h) => h.name !== this.o.host);
    const tls = this.o.tls;
    if (live.length > 0 && !tls) throw new UserError('this host is not in a cluster', 'run cellblock cluster init (first host) or cellblock cluster join ADDR --token T');
    on.onTargets?.(live.map((h) => h.name).sort());
    const hosts = await Promise.all(live.map(async (h): Promise<HostPull> => {
      let r: HostPull;
      try {
        const res = await ApiClient.forPeer(tls!, { name: h.name, address: h.address, apiPort: h.apiPort }, { timeoutMs: 600_000 }).call('imagePull', { params: ref });
        r = { ...res, host: h.name, error: null };
      } catch (err) {
        logWarn(this.o.log, err, 'a host failed to pull a pushed image', { image, host: h.name });
        r = { image, host: h.name, from: null, since: null, bytes: 0, seconds: 0, error: (err as Error).message };
      }
      on.onHost?.(r);
      return r;
    }));
    return { image, hosts: hosts.sort((x, y) => (x.host < y.host ? -1 : 1)) };
  }

  /** Stops watching; holder keys stay on the lease until it ends. */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.backstop) clearInterval(this.backstop);
    this.lease = undefined;
    this.written.clear();
  }
}
