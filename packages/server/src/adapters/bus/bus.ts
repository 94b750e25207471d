/** What a node tells every node (itself included). The database stays the truth; this is a doorbell. */
export interface Bus {
  publish(topic: string, message: unknown): void;
  /** Returns a function that unsubscribes. */
  subscribe(topic: string, handler: (message: any) => void): () => void;
  ping(): Promise<boolean>;
  /**
   * Calls handler each time the bus is back after being down: messages from other nodes may have
   * been lost meanwhile. Returns a function that stops it.
   */
  onRecovered(handler: () => void): () => void;
  close(): Promise<void>;
}
