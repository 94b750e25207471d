import type { BusTopics, Topic } from './topics.ts';

/** What a node tells every node (itself included). The database stays the truth; this is a doorbell. */
export interface Bus {
  publish<T extends Topic>(topic: T, message: BusTopics[T]): void;
  /** Returns a function that unsubscribes. */
  subscribe<T extends Topic>(topic: T, handler: (message: BusTopics[T]) => void): () => void;
  ping(): Promise<boolean>;
  /**
   * Calls handler each time the bus is back after being down: messages from other nodes may have
   * been lost meanwhile. Returns a function that stops it.
   */
  onRecovered(handler: () => void): () => void;
  close(): Promise<void>;
}
