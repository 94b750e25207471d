import type { Bus } from './bus.ts';
import type { BusTopics, Topic } from './topics.ts';

/** The single-node bus: delivery to handlers in this process, asynchronously, in publish order. */
export class InProcessBus implements Bus {
  private readonly handlers = new Map<Topic, Set<(message: never) => void>>();

  publish<T extends Topic>(topic: T, message: BusTopics[T]): void {
    const set = this.handlers.get(topic) as Set<(message: BusTopics[T]) => void> | undefined;
    if (!set || set.size === 0) return;
    // Handlers treat messages as read-only, so one object serves them all without a copy.
    queueMicrotask(() => {
      for (const handler of set) handler(message);
    });
  }

  subscribe<T extends Topic>(topic: T, handler: (message: BusTopics[T]) => void): () => void {
    let set = this.handlers.get(topic) as Set<(message: BusTopics[T]) => void> | undefined;
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(topic);
    };
  }

  /** A bus inside one process is never down. */
  onRecovered(): () => void {
    return () => {};
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
