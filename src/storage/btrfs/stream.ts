/**
 * The one edit cellblock makes to a `btrfs send` stream: the name of the subvolume it creates.
 *
 * Why: `btrfs receive DIR` creates DIR/<name the sender's snapshot had>, and a received
 * subvolume is read-only, so it can never be moved to another directory afterwards (the
 * kernel needs write access to a directory to move it: its ".." changes). To receive a
 * stream as any `dataset@snapshot` without touching what already exists, the receiver
 * rewrites the first command's path to a unique staging name in the final directory and,
 * on success, renames it within that directory.
 *
 * Stream format (btrfs-progs send-stream.c, kernel send.h, versions 1-3): the header
 * "btrfs-stream\0" + u32 version, then commands: u32 payload length, u16 command, u32 crc32c
 * (of header-with-crc-zeroed + payload, seed 0, no final inversion), then TLV attributes
 * (u16 type, u16 length, value). The first command is SUBVOL (1) or SNAPSHOT (2) and names
 * the subvolume in its PATH (15) attribute. Later paths are relative to the subvolume.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const SEND_MAGIC = Buffer.from('btrfs-stream\0', 'latin1');
const HEADER_LEN = SEND_MAGIC.length + 4;
const CMD_HEADER_LEN = 10;
const CMD_SUBVOL = 1;
const CMD_SNAPSHOT = 2;
const ATTR_PATH = 15;
/** The first command is a few dozen bytes; anything huge is not a send stream. */
const MAX_FIRST_CMD = 64 * 1024;

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32C (Castagnoli) as btrfs send uses it: seed in, no pre- or post-inversion. */
export function crc32c(seed: number, buf: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      CRC_TABLE[i] = c >>> 0;
    }
  }
  let c = seed >>> 0;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c;
}

export class SendStreamError extends Error {
  override name = 'SendStreamError';
}

/** Bytes needed before the first command can be rewritten, or undefined while the header is incomplete. */
export function headLength(buf: Buffer): number | undefined {
  if (buf.length < HEADER_LEN + CMD_HEADER_LEN) return undefined;
  if (!buf.subarray(0, SEND_MAGIC.length).equals(SEND_MAGIC)) throw new SendStreamError('not a btrfs send stream (bad magic)');
  const len = buf.readUInt32LE(HEADER_LEN);
  if (len > MAX_FIRST_CMD) throw new SendStreamError(`not a btrfs send stream (first command of ${len} bytes)`);
  return HEADER_LEN + CMD_HEADER_LEN + len;
}

/**
 * Rewrites the PATH of the stream's first command (SUBVOL or SNAPSHOT) to `newName`.
 * `head` holds exactly headLength(head) bytes. Returns the new head and the old name.
 */
export function renameHead(head: Buffer, newName: string): { head: Buffer; oldName: string } {
  const total = headLength(head);
  if (total === undefined || head.length !== total) throw new SendStreamError('btrfs send stream: incomplete first command');
  const cmdStart = HEADER_LEN;
  const cmd = head.readUInt16LE(cmdStart + 4);
  if (cmd !== CMD_SUBVOL && cmd !== CMD_SNAPSHOT) throw new SendStreamError(`btrfs send stream starts with command ${cmd}, not a subvolume or snapshot`);
  const want = head.readUInt32LE(cmdStart + 6);
  const check = Buffer.from(head.subarray(cmdStart));
  check.writeUInt32LE(0, 6);
  if (crc32c(0, check) !== want) throw new SendStreamError('btrfs send stream: checksum mismatch in its first command');
  const attrs: Buffer[] = [];
  let oldName: string | undefined;
  let p = cmdStart + CMD_HEADER_LEN;
  while (p < head.length) {
    if (p + 4 > head.length) throw new SendStreamError('btrfs send stream: malformed attribute');
    const type = head.readUInt16LE(p);
    const len = head.readUInt16LE(p + 2);
    if (p + 4 + len > head.length) throw new SendStreamError('btrfs send stream: malformed attribute');
    if (type === ATTR_PATH && oldName === undefined) {
      oldName = head.subarray(p + 4, p + 4 + len).toString('utf8');
      const name = Buffer.from(newName, 'utf8');
      const tl = Buffer.alloc(4);
      tl.writeUInt16LE(ATTR_PATH, 0);
      tl.writeUInt16LE(name.length, 2);
      attrs.push(tl, name);
    } else {
      attrs.push(head.subarray(p, p + 4 + len));
    }
    p += 4 + len;
  }
  if (oldName === undefined) throw new SendStreamError('btrfs send stream: first command has no path');
  const payload = Buffer.concat(attrs);
  const hdr = Buffer.alloc(CMD_HEADER_LEN);
  hdr.writeUInt32LE(payload.length, 0);
  hdr.writeUInt16LE(cmd, 4);
  const out = Buffer.concat([hdr, payload]);
  out.writeUInt32LE(crc32c(0, out), 6);
  return { head: Buffer.concat([head.subarray(0, HEADER_LEN), out]), oldName };
}

/** Passes a send stream through, with its subvolume renamed to `newName`. */
export class SendStreamRenamer extends Transform {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private renamed = false;
  oldName: string | undefined;

  constructor(private readonly newName: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.renamed) return cb(null, chunk);
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    try {
      const buf = Buffer.concat(this.pending, this.pendingLen);
      const need = headLength(buf);
      if (need === undefined || buf.length < need) {
        this.pending = [buf];
        return cb();
      }
      const { head, oldName } = renameHead(buf.subarray(0, need), this.newName);
      this.oldName = oldName;
      this.renamed = true;
      this.pending = [];
      this.push(head);
      cb(null, buf.subarray(need));
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    cb(this.renamed ? null : new SendStreamError(this.pendingLen === 0 ? 'the btrfs send stream is empty' : 'the btrfs send stream is truncated inside its first command'));
  }
}
