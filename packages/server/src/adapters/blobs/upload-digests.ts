import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Uploads hashed at once at most (abandoned ones are forgotten oldest first). */
const KEEP = 1000;

/**
 * The sha256 of uploads as their bytes go to the store, for uploads this process received from the
 * first byte on, in order: a finished one then needs no second read of everything it stored. An
 * upload resumed on another node, or after a restart, is not hashed here, and the caller reads it
 * back instead. A write the store took less of than it was given (a cut request) drops the hash.
 */
export class UploadDigests {
  private readonly running = new Map<string, { hash: Hash; bytes: number }>();

  /** The stream to hand the store: `stream`, hashed on the way when it continues what was hashed. */
  track(stream: Readable, id: string, offset: number): Readable {
    if (offset === 0) {
      this.running.delete(id);
      this.running.set(id, { hash: createHash('sha256'), bytes: 0 });
      while (this.running.size > KEEP) this.running.delete(this.running.keys().next().value!);
    }
    const state = this.running.get(id);
    if (!state || state.bytes !== offset) {
      this.running.delete(id);
      return stream;
    }
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        state.hash.update(chunk);
        state.bytes += chunk.length;
        done(null, chunk);
      },
    });
    // A source that fails (the client went away) fails the hashed stream too, and the store sees it.
    pipeline(stream, hashing).catch(() => this.running.delete(id));
    return hashing;
  }

  /** What the store holds after a write: unless it is all that was hashed, the hash is dropped. */
  written(id: string, offset: number): void {
    const state = this.running.get(id);
    if (state && state.bytes !== offset) this.running.delete(id);
  }

  /** The sha256 of the finished upload of `size` bytes when it was hashed whole here; forgotten either way. */
  take(id: string, size: number): string | null {
    const state = this.running.get(id);
    this.running.delete(id);
    return state && state.bytes === size ? state.hash.digest('hex') : null;
  }
}
