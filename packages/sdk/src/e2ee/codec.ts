import { E2eeError } from './errors.ts';

// TLS presentation language as RFC 9420 uses it: fixed-width big-endian integers and vectors with a
// variable-length (QUIC-style, at most 30 bits) length prefix. Enough for Parley's own structures.

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class TlsWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  u8(value: number): this {
    return this.push(Uint8Array.of(value & 0xff));
  }

  u64(value: bigint | number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
    return this.push(bytes);
  }

  raw(bytes: Uint8Array): this {
    return this.push(bytes);
  }

  varint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 30) throw new RangeError(`Vector length ${value} is out of range`);
    if (value < 0x40) return this.push(Uint8Array.of(value));
    if (value < 0x4000) return this.push(Uint8Array.of(0x40 | (value >> 8), value & 0xff));
    return this.push(Uint8Array.of(0x80 | (value >>> 24), (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff));
  }

  opaque(bytes: Uint8Array): this {
    return this.varint(bytes.length).push(bytes);
  }

  string(value: string): this {
    return this.opaque(utf8.encode(value));
  }

  /** A vector of items, each written by `write`: the length prefix counts bytes, as in TLS. */
  vector<T>(items: readonly T[], write: (w: TlsWriter, item: T) => void): this {
    const inner = new TlsWriter();
    for (const item of items) write(inner, item);
    return this.opaque(inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }
}

export class TlsReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  u8(): number {
    return this.take(1)[0];
  }

  u64(): bigint {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }

  raw(length: number): Uint8Array {
    return this.take(length);
  }

  varint(): number {
    const first = this.u8();
    const prefix = first >> 6;
    if (prefix === 0) return first;
    if (prefix === 1) {
      const value = ((first & 0x3f) << 8) | this.u8();
      if (value < 0x40) this.fail('non-minimal length');
      return value;
    }
    if (prefix === 2) {
      const rest = this.take(3);
      const value = (first & 0x3f) * 2 ** 24 + (rest[0] << 16) + (rest[1] << 8) + rest[2];
      if (value < 0x4000) this.fail('non-minimal length');
      return value;
    }
    return this.fail('invalid length prefix');
  }

  opaque(): Uint8Array {
    return this.take(this.varint());
  }

  string(): string {
    try {
      return utf8Strict.decode(this.opaque());
    } catch (err) {
      if (err instanceof E2eeError) throw err;
      return this.fail('invalid UTF-8');
    }
  }

  vector<T>(read: (r: TlsReader) => T): T[] {
    const inner = new TlsReader(this.opaque(), this.what);
    const items: T[] = [];
    while (!inner.done()) items.push(read(inner));
    return items;
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }

  /** Throws unless every byte was read: trailing bytes would make two encodings of one value. */
  end(): void {
    if (!this.done()) this.fail('trailing bytes');
  }

  private take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) this.fail('truncated');
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  private fail(reason: string): never {
    throw new E2eeError('e2ee_malformed', `Could not decode ${this.what}: ${reason}`);
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** WebCrypto wants a BufferSource backed by a plain ArrayBuffer; copies views of anything else. */
export function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', buf(bytes)));
}
