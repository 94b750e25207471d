import { fromBase64, toBase64 } from './base64.ts';

// Where the engine keeps a device's state between runs: its keys, private KeyPackages, each chat's MLS group state
// and position, the directory's pins and problems. A small async key/value interface over bytes, so that it can be a
// Map (Node, tests), a file, or IndexedDB (the web client) alike. The values hold private keys and plaintexts: the
// embedding application encrypts them at rest (the web client under a non-extractable WebCrypto key).

/**
 * A device's local state store. Keys are strings (`device`, `cursor`, `directory`, `problems`, `kp/<ref>`,
 * `chat/<chatId>`, `msg/<chatId>/<messageId>`); values are opaque bytes (the engine's own encodings: UTF-8 JSON for
 * records, ts-mls encodings for group states and KeyPackages inside them). An implementation stores them as given and
 * returns equal bytes; it need not understand them.
 *
 * Every write the engine makes is one `put` of several records that must land together or not at all (a group state
 * with the position it reached): `put` resolves only once they are durable, and throws when they are not, in which
 * case the engine posts nothing it produced. E.g. `await store.put({ 'chat/c1': bytes, 'kp/abc': null })`.
 */
export interface E2eeStore {
  /** The value under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every record whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<Array<[key: string, value: Uint8Array]>>;
  /** Writes the records at once, all or nothing; a null value deletes its key. */
  put(records: Readonly<Record<string, Uint8Array | null>>): Promise<void>;
}

/**
 * An E2eeStore in memory, the default of `E2eeDevice`: state lives as long as the process (or `snapshot()` it and
 * build a new one with `MemoryE2eeStore.from`). E.g. `const store = new MemoryE2eeStore(); await E2eeDevice.setUp(client, { store })`.
 */
export class MemoryE2eeStore implements E2eeStore {
  private readonly records = new Map<string, Uint8Array>();

  /** A store holding what `snapshot()` returned (after JSON, structured clone or a file). */
  static from(snapshot: Readonly<Record<string, string>>): MemoryE2eeStore {
    const store = new MemoryE2eeStore();
    for (const [key, value] of Object.entries(snapshot)) store.records.set(key, fromBase64(value));
    return store;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.records.get(key);
    return value && value.slice();
  }

  async list(prefix: string): Promise<Array<[key: string, value: Uint8Array]>> {
    return [...this.records]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => [key, value.slice()]);
  }

  async put(records: Readonly<Record<string, Uint8Array | null>>): Promise<void> {
    // Copies: a caller that reuses its buffer afterwards must not change what is stored.
    for (const [key, value] of Object.entries(records)) {
      if (value === null) this.records.delete(key);
      else this.records.set(key, value.slice());
    }
  }

  /** Every record, values in base64: plain JSON, for a file or a test. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of this.records) out[key] = toBase64(value);
    return out;
  }
}
