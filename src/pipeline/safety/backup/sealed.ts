// Sealed files: a byte stream encrypted and authenticated with AES-256-GCM in frames, so a
// file of any size streams through bounded memory. Each frame has its own random 96-bit
// nonce and tag, and its sequence number and an end-of-file flag are authenticated with it:
// a changed, reordered, removed or cut-off frame is detected, and so is anything after the
// last one. Every file has a random id and a key of its own derived from the backup key.
//
//   file  = "FERRYBK1" (8 bytes) | file id (16) | frame*          (the last frame has the end flag)
//   frame = plaintext length (uint32 BE) | flags (1; bit 0 = end) | nonce (12) | ciphertext | tag (16)
//   AAD   = magic | file id | sequence number (uint64 BE) | flags
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FerryError } from '../../../core/errors.js';
import { readSecret, registerSecret, secretId } from '../../../core/secrets.js';

const MAGIC = Buffer.from('FERRYBK1');
const HEADER_BYTES = MAGIC.length + 16;
const FRAME_HEAD_BYTES = 4 + 1 + 12;
const TAG_BYTES = 16;
/** plaintext per frame */
export const FRAME_BYTES = 64 * 1024;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const END = 1;

export interface BackupKey {
  /** names the key without revealing it: a hash of a key derived from it */
  id: string;
  material: Buffer;
}

export interface KeySource {
  /** environment variable holding the key */
  env?: string;
  /** file holding the key */
  file?: string;
}

export const DEFAULT_KEY_ENV = 'FERRY_BACKUP_KEY';
const KEY_HELP = 'use 32 random bytes written as 64 hex digits or as base64, e.g. from `openssl rand -base64 32`';

function derive(material: Buffer, salt: Buffer | string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, salt, info, 32));
}

export function keyFromText(text: string, where: string): BackupKey {
  const t = text.trim();
  let material: Buffer | undefined;
  if (/^[0-9a-f]{64}$/i.test(t)) material = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(t) || /^[A-Za-z0-9_-]{43}$/.test(t))
    material = Buffer.from(t, t.includes('=') || /[+/]/.test(t) ? 'base64' : 'base64url');
  if (!material || material.length !== 32)
    throw new FerryError('SECRET_MISSING', `the backup key in ${where} is not 32 bytes as hex or base64`, KEY_HELP);
  registerSecret(t);
  return { id: secretId(material, 'ferry backup key id'), material };
}

/** Loads the backup key from an environment variable (default FERRY_BACKUP_KEY) or a file. */
export function loadKey(source: KeySource): BackupKey {
  if (source.file) return keyFromText(readSecret({ file: source.file }, 'the backup key'), `file ${source.file}`);
  const env = source.env ?? DEFAULT_KEY_ENV;
  return keyFromText(readSecret({ env }, 'the backup key'), `environment variable ${env}`);
}

/** The authentication code of a manifest's text. */
export function manifestMac(key: BackupKey, text: string): string {
  return createHmac('sha256', derive(key.material, '', 'ferry backup manifest v1'))
    .update(text)
    .digest('hex');
}

function frameAad(header: Buffer, seq: number, flags: number): Buffer {
  const aad = Buffer.alloc(HEADER_BYTES + 9);
  header.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(seq), HEADER_BYTES);
  aad[HEADER_BYTES + 8] = flags;
  return aad;
}

/** Encrypts a byte stream into a sealed file. */
export class SealStream extends Transform {
  private readonly header: Buffer;
  private readonly fileKey: Buffer;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;

  constructor(key: BackupKey) {
    super();
    const fileId = randomBytes(16);
    this.header = Buffer.concat([MAGIC, fileId]);
    this.fileKey = derive(key.material, fileId, 'ferry backup file v1');
    this.push(this.header);
  }

  private frame(plain: Buffer, flags: number): void {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.fileKey, nonce);
    cipher.setAAD(frameAad(this.header, this.seq++, flags));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const head = Buffer.alloc(FRAME_HEAD_BYTES);
    head.writeUInt32BE(plain.length, 0);
    head[4] = flags;
    nonce.copy(head, 5);
    this.push(Buffer.concat([head, body, cipher.getAuthTag()]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= FRAME_BYTES) {
      const all = Buffer.concat(this.pending);
      let at = 0;
      for (; all.length - at >= FRAME_BYTES; at += FRAME_BYTES) this.frame(all.subarray(at, at + FRAME_BYTES), 0);
      this.pending = [all.subarray(at)];
      this.pendingBytes = all.length - at;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.frame(Buffer.concat(this.pending), END);
    done();
  }
}

/** Decrypts a sealed file, failing with the file's name on any change, cut or wrong key. */
export class OpenStream extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private header?: Buffer;
  private fileKey?: Buffer;
  private seq = 0;
  private ended = false;

  constructor(
    private readonly key: BackupKey,
    private readonly name: string,
  ) {
    super();
  }

  private fail(why: string): FerryError {
    return new FerryError(
      'BACKUP_INVALID',
      `${this.name}: ${why}`,
      'the backup cannot be trusted: restore from another backup, or check that the key is the one it was made with',
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.drain();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private drain(): void {
    if (!this.header) {
      if (this.buf.length < HEADER_BYTES) return;
      if (!this.buf.subarray(0, MAGIC.length).equals(MAGIC))
        throw this.fail('not a ferry backup file (its first bytes are wrong)');
      this.header = Buffer.from(this.buf.subarray(0, HEADER_BYTES));
      this.fileKey = derive(this.key.material, this.header.subarray(MAGIC.length), 'ferry backup file v1');
      this.buf = this.buf.subarray(HEADER_BYTES);
    }
    for (;;) {
      if (this.buf.length === 0) return;
      if (this.ended) throw this.fail('has data after its last frame');
      if (this.buf.length < FRAME_HEAD_BYTES) return;
      const length = this.buf.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw this.fail(`frame ${this.seq + 1} is damaged (impossible length)`);
      const total = FRAME_HEAD_BYTES + length + TAG_BYTES;
      if (this.buf.length < total) return;
      const flags = this.buf[4]!;
      const decipher = createDecipheriv('aes-256-gcm', this.fileKey!, this.buf.subarray(5, FRAME_HEAD_BYTES));
      decipher.setAAD(frameAad(this.header, this.seq, flags));
      decipher.setAuthTag(this.buf.subarray(total - TAG_BYTES, total));
      let plain: Buffer;
      try {
        plain = Buffer.concat([
          decipher.update(this.buf.subarray(FRAME_HEAD_BYTES, total - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw this.fail(
          `frame ${this.seq + 1} fails authentication (the file was changed, or the key is not the one it was made with)`,
        );
      }
      this.seq++;
      this.buf = this.buf.subarray(total);
      if (flags & END) this.ended = true;
      if (plain.length > 0) this.push(plain);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.header) return done(this.fail('is cut off before its header ends'));
    if (!this.ended) return done(this.fail(`is cut off after frame ${this.seq} (its last frame is missing)`));
    done();
  }
}
