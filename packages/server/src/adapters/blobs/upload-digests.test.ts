import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UploadDigests } from './upload-digests.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What a store does with the stream it gets: reads it all, and says how much it holds now. */
async function store(stream: Readable, offset: number, keep = Infinity): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += Math.min((chunk as Buffer).length, Math.max(0, keep - n));
  return offset + n;
}

describe('UploadDigests', () => {
  const bytes = Buffer.from('x'.repeat(100_000) + 'y'.repeat(50_000));

  it('hashes an upload written in order across PATCHes, and gives its sha256 once', async () => {
    const d = new UploadDigests();
    let offset = 0;
    for (const part of [bytes.subarray(0, 60_000), bytes.subarray(60_000)]) {
      offset = await store(d.track(Readable.from([part]), 'u1', offset), offset);
      d.written('u1', offset);
    }
    expect(d.take('u1', bytes.length)).toBe(sha(bytes));
    expect(d.take('u1', bytes.length)).toBeNull();
  });

  it('knows nothing of an upload resumed here that began elsewhere, or of a size that does not match', async () => {
    const d = new UploadDigests();
    const offset = await store(d.track(Readable.from([bytes.subarray(70_000)]), 'u2', 70_000), 70_000);
    d.written('u2', offset);
    expect(d.take('u2', bytes.length)).toBeNull();
    await store(d.track(Readable.from([bytes.subarray(0, 10)]), 'u3', 0), 0);
    expect(d.take('u3', bytes.length)).toBeNull();
  });

  it('drops the hash when the store kept less than it was given (a cut request)', async () => {
    const d = new UploadDigests();
    const offset = await store(d.track(Readable.from([bytes.subarray(0, 80_000)]), 'u4', 0), 0, 30_000);
    d.written('u4', offset);
    // The client resumes from what the store has: this process no longer vouches for the digest.
    const end = await store(d.track(Readable.from([bytes.subarray(offset)]), 'u4', offset), offset);
    d.written('u4', end);
    expect(d.take('u4', bytes.length)).toBeNull();
  });
});
