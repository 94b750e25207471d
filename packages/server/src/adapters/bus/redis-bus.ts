import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.ts';
import type { Bus } from './bus.ts';
import type { BusTopics, Delivery, Topic } from './topics.ts';
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
  /** Counts what arrives from Redis (message and bytes), by topic. */
  onReceived?: (topic: Topic, bytes: number) => void;
  /**
   * Where the directory of who is connected where lives (RedisPresenceStore's keys,
   * `<prefix>presence:<userId>`: node ids scored by expiry). Deliveries are routed by it: each
   * goes only to the nodes holding one of its recipients.
   */
  presencePrefix?: string;
}

/**
 * Routes one delivery inside Redis: for each recipient, the nodes the directory says hold it
 * (an unexpired score), then one PUBLISH per such node, on that node's own channel, naming only
 * its recipients. The publishing node is left out: it delivered locally already.
 *   ARGV: presence prefix, channel prefix, now (ms), publishing node, the delivery's JSON without
 *   its userIds (`"event":{…}`), then the recipients' ids. Returns the number of nodes reached.
 */
const ROUTE_SCRIPT = `
local holders = {}
local order = {}
for i = 6, #ARGV do
  local nodes = redis.call('ZRANGEBYSCORE', ARGV[1] .. ARGV[i], ARGV[3], '+inf')
  for _, node in ipairs(nodes) do
    if node ~= ARGV[4] then
      if not holders[node] then
        holders[node] = {}
        order[#order + 1] = node
      end
      local list = holders[node]
      list[#list + 1] = ARGV[i]
    end
  end
end
for _, node in ipairs(order) do
  redis.call('PUBLISH', ARGV[2] .. node, '{"userIds":' .. cjson.encode(holders[node]) .. ',' .. ARGV[5] .. '}')
end
return #order
`;

type RoutedRedis = Redis & {
  route(presencePrefix: string, channelPrefix: string, now: number, node: string, body: string, ...userIds: string[]): Promise<number>;
};

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
 * The bus across nodes, over Redis pub/sub. Deliveries are routed: a script in Redis looks their
 * recipients up in the presence directory and publishes to the channel of each node holding one
 * (with only those recipients), so a node receives only what its sockets need and the cluster's
 * work per message grows with the nodes involved, not with the cluster. Session revocations and
 * rotations go to every node. Handlers on the publishing node get every message at once, without
 * the round trip, so a node keeps serving its own users while Redis is down. Both connections
 * reconnect by themselves; the subscriber resubscribes on reconnect (and the node's sockets resync).
 */
export class RedisBus implements Bus {
  private readonly local = new InProcessBus();
  private readonly pub: RoutedRedis;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly self: string;
  private readonly nodeId: string;
  /** This node's own channel: deliveries for the users it holds */
  private readonly inbox: string;
  private readonly nodeChannels: string;
  private readonly presencePrefix: string;
  private readonly onReceived: (topic: Topic, bytes: number) => void;
  private readonly topics = new Map<Topic, number>();
  private readonly log: Logger;
  private up = false;
  private closed = false;
  private readonly recovered = new Set<() => void>();
  private subscribedOnce = false;

  constructor(options: RedisBusOptions) {
    this.prefix = options.prefix ?? 'parley:';
    this.self = `${options.nodeId}\n`;
    this.nodeId = options.nodeId;
    this.nodeChannels = `${this.prefix}node:`;
    this.inbox = this.nodeChannels + options.nodeId;
    this.presencePrefix = options.presencePrefix ?? `${this.prefix}presence:`;
    this.log = options.log;
    this.onPublishFailed = options.onPublishFailed ?? (() => {});
    this.onReceived = options.onReceived ?? (() => {});
    this.pub = new Redis(options.url, redisOptions(`parley-pub-${options.nodeId}`.slice(0, 60))) as RoutedRedis;
    this.pub.defineCommand('route', { numberOfKeys: 0, lua: ROUTE_SCRIPT });
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
      // Deliveries come on this node's own channel; the other topics go to every node.
      const channels = [...this.topics.keys()].map((t) => this.channelOf(t));
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
    const name = channel.toString('utf8');
    // Routed deliveries never include this node's own; broadcasts do, and are skipped unparsed.
    const routed = name === this.inbox;
    const head = routed ? -1 : payload.indexOf(10);
    if (!routed && (head < 0 || payload.toString('utf8', 0, head + 1) === this.self)) return;
    const topic = routed ? 'deliver' : (name.slice(this.prefix.length) as Topic);
    this.onReceived(topic, payload.length);
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
    const sent = topic === 'deliver' ? this.route(message as Delivery) : this.pub.publish(this.prefix + topic, this.self + JSON.stringify(message));
    sent.catch((err) => {
      this.onPublishFailed();
      this.log.debug({ err, topic }, 'bus publish failed');
    });
  }

  /** A delivery goes only to the nodes that hold its recipients (ROUTE_SCRIPT). */
  private route(d: Delivery): Promise<number> {
    const { userIds, ...rest } = d;
    // The rest of the delivery as JSON members, for the script to put beside each node's recipients.
    const body = JSON.stringify(rest).slice(1, -1);
    return this.pub.route(this.presencePrefix, this.nodeChannels, Date.now(), this.nodeId, body, ...userIds);
  }

  subscribe<T extends Topic>(topic: T, handler: (message: BusTopics[T]) => void): () => void {
    const off = this.local.subscribe(topic, handler);
    const n = (this.topics.get(topic) ?? 0) + 1;
    this.topics.set(topic, n);
    // While disconnected, the subscription is made on the next ready.
    if (n === 1 && this.sub.status === 'ready') this.sub.subscribe(this.channelOf(topic)).catch(() => {});
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const left = (this.topics.get(topic) ?? 1) - 1;
      if (left > 0) return void this.topics.set(topic, left);
      this.topics.delete(topic);
      if (!this.closed) this.sub.unsubscribe(this.channelOf(topic)).catch(() => {});
    };
  }

  private channelOf(topic: Topic): string {
    return topic === 'deliver' ? this.inbox : this.prefix + topic;
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
