import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.ts';
import type { Bus } from './bus.ts';
import type { BusTopics, Topic } from './topics.ts';
import { InProcessBus } from './in-process-bus.ts';

export interface RedisBusOptions {
  url: string;
  /** This process's id, unique in the cluster: a node skips what it published itself, having delivered it locally already. */
  nodeId: string;
  log: Logger;
  /** Prefix of every channel and key, so several deployments can share one Redis. */
  prefix?: string;
  onState?: (up: boolean) => void;
  onPublishFailed?: () => void;
}

const PING_TIMEOUT_MS = 1000;

/** Connection settings both Redis connections share: reconnect forever, never queue commands while down. */
export function redisOptions(name: string): RedisOptions {
  return {
    connectionName: name,
    // Backoff capped at 2 s: a Redis that comes back is used again within seconds.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    // Realtime is a doorbell: a publish that cannot go out now is dropped (clients resync), never
    // queued to be replayed stale and unbounded when Redis returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // The bus resubscribes itself on every ready: subscriptions made while disconnected are kept too.
    autoResubscribe: false,
  };
}

/**
 * The bus across nodes, over Redis pub/sub. Each message is published once; every node receives it
 * on one dedicated subscriber connection and hands it to its local handlers (the gateway then
 * writes only to the sockets this node holds). Handlers on the publishing node get the message at
 * once, without the round trip, so a node keeps serving its own users while Redis is down.
 * Both connections reconnect by themselves; the subscriber resubscribes on reconnect.
 */
export class RedisBus implements Bus {
  private readonly local = new InProcessBus();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly self: string;
  private readonly topics = new Map<Topic, number>();
  private readonly log: Logger;
  private up = false;
  private closed = false;
  private readonly recovered = new Set<() => void>();
  private subscribedOnce = false;

  constructor(options: RedisBusOptions) {
    this.prefix = options.prefix ?? 'parley:';
    this.self = `${options.nodeId}\n`;
    this.log = options.log;
    this.onPublishFailed = options.onPublishFailed ?? (() => {});
    this.pub = new Redis(options.url, redisOptions(`parley-pub-${options.nodeId}`.slice(0, 60)));
    this.sub = new Redis(options.url, redisOptions(`parley-sub-${options.nodeId}`.slice(0, 60)));
    const onState = options.onState ?? (() => {});
    const track = () => {
      const up = this.pub.status === 'ready' && this.sub.status === 'ready';
      if (up === this.up) return;
      this.up = up;
      onState(up);
      if (!this.closed) this.log[up ? 'info' : 'warn']({ bus: 'redis' }, up ? 'bus connected' : 'bus disconnected');
    };
    for (const conn of [this.pub, this.sub]) {
      conn.on('ready', track);
      conn.on('close', track);
      conn.on('end', track);
      // Errors while disconnected are reported through the state above; the client keeps retrying.
      conn.on('error', () => {});
    }
    this.sub.on('ready', () => {
      const channels = [...this.topics.keys()].map((t) => this.prefix + t);
      const subscribed = channels.length > 0 ? this.sub.subscribe(...channels) : Promise.resolve();
      subscribed.then(
        () => {
          // Listening again: whatever other nodes published while this one was not is lost to it.
          if (this.subscribedOnce) for (const handler of this.recovered) handler();
          this.subscribedOnce = true;
        },
        (err) => this.log.warn({ err }, 'bus resubscribe failed'),
      );
    });
    this.sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.receive(channel, payload));
  }

  private readonly onPublishFailed: () => void;

  private receive(channel: Buffer, payload: Buffer): void {
    // Own messages were delivered locally when published: skip them before parsing anything.
    const head = payload.indexOf(10);
    if (head < 0 || payload.toString('utf8', 0, head + 1) === this.self) return;
    const topic = channel.toString('utf8').slice(this.prefix.length) as Topic;
    let message: BusTopics[Topic];
    try {
      message = JSON.parse(payload.toString('utf8', head + 1));
    } catch (err) {
      this.log.warn({ err, topic }, 'unreadable bus message dropped');
      return;
    }
    this.local.publish(topic, message);
  }

  publish<T extends Topic>(topic: T, message: BusTopics[T]): void {
    this.local.publish(topic, message);
    if (this.closed) return;
    const payload = this.self + JSON.stringify(message);
    this.pub.publish(this.prefix + topic, payload).catch((err) => {
      this.onPublishFailed();
      this.log.debug({ err, topic }, 'bus publish failed');
    });
  }

  subscribe<T extends Topic>(topic: T, handler: (message: BusTopics[T]) => void): () => void {
    const off = this.local.subscribe(topic, handler);
    const n = (this.topics.get(topic) ?? 0) + 1;
    this.topics.set(topic, n);
    // While disconnected, the subscription is made on the next ready.
    if (n === 1 && this.sub.status === 'ready') this.sub.subscribe(this.prefix + topic).catch(() => {});
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const left = (this.topics.get(topic) ?? 1) - 1;
      if (left > 0) return void this.topics.set(topic, left);
      this.topics.delete(topic);
      if (!this.closed) this.sub.unsubscribe(this.prefix + topic).catch(() => {});
    };
  }

  onRecovered(handler: () => void): () => void {
    this.recovered.add(handler);
    return () => this.recovered.delete(handler);
  }

  /** Up when both connections are ready and Redis answers a PING within a second. */
  async ping(): Promise<boolean> {
    if (this.pub.status !== 'ready' || this.sub.status !== 'ready') return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pong = await Promise.race([
        this.pub.ping(),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), PING_TIMEOUT_MS);
        }),
      ]);
      return pong === 'PONG';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The command connection, for other users of the same Redis (presence, rate limits). */
  get client(): Redis {
    return this.pub;
  }

  get connected(): boolean {
    return this.up;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.local.close();
    await Promise.all([this.pub, this.sub].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
