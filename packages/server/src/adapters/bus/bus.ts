/** What a node tells every node (itself included). The database stays the truth; this is a doorbell. */
export interface Bus {
  publish(topic: string, message: unknown): void;
  /** Returns a function that unsubscribes. */
  subscribe(topic: string, handler: (message: any) => void): () => void;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
