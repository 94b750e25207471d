import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricSources {
  /** Bytes of finished files in the store (all nodes), read when /metrics is scraped */
  storedFileBytes?: () => Promise<number>;
}

/** Every metric the server exposes at /metrics, on one registry per server instance, each labelled with the node. */
export function createMetrics(nodeId: string, sources: MetricSources = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'parley_http_requests_total',
      help: 'HTTP requests by operation and status',
      labelNames: ['operation', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request duration by operation',
      labelNames: ['operation'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    wsConnections: new Gauge({ name: 'parley_ws_connections', help: 'Open WebSocket connections', registers: [registry] }),
    messagesSent: new Counter({ name: 'parley_messages_sent_total', help: 'Messages committed (a retried send counts once)', registers: [registry] }),
    groupCommitUnits: new Histogram({
      name: 'parley_store_group_commit_units',
      help: 'Changes written by one group commit (one transaction)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    eventsDelivered: new Counter({ name: 'parley_ws_events_delivered_total', help: 'Events written to sockets', registers: [registry] }),
    slowConsumers: new Counter({ name: 'parley_ws_slow_consumer_closes_total', help: 'Sockets closed for falling behind', registers: [registry] }),
    busUp: new Gauge({ name: 'parley_bus_up', help: '1 while the bus reaches every node (always 1 for the in-process bus)', registers: [registry] }),
    busPublishFailures: new Counter({
      name: 'parley_bus_publish_failures_total',
      help: 'Bus messages that could not be published (receivers resync)',
      registers: [registry],
    }),
    busReceived: new Counter({
      name: 'parley_bus_received_total',
      help: 'Bus messages this node received from other nodes, by topic (deliveries arrive only for the users it holds)',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    busReceivedBytes: new Counter({
      name: 'parley_bus_received_bytes_total',
      help: 'Bytes of the bus messages this node received from other nodes, by topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    filesStoredBytes: new Gauge({
      name: 'parley_files_stored_bytes',
      help: 'Bytes of finished files kept in the blob store (the whole store, not this node)',
      registers: [registry],
      async collect() {
        if (sources.storedFileBytes) this.set(await sources.storedFileBytes());
      },
    }),
    uploadsInProgress: new Gauge({
      name: 'parley_uploads_in_progress',
      help: 'Upload requests (tus PATCH) streaming into this node now',
      registers: [registry],
    }),
    uploadsRefused: new Counter({
      name: 'parley_uploads_refused_total',
      help: 'Uploads refused before any byte was stored, by the limit they hit',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    e2eeFailures: new Counter({
      name: 'parley_e2ee_failures_total',
      help: 'What devices reported they could not decrypt or accept in encrypted chats, by cause',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
    uploadBytes: new Counter({ name: 'parley_upload_bytes_total', help: 'Bytes of uploads finished on this node', registers: [registry] }),
    filesCollected: new Counter({
      name: 'parley_files_collected_total',
      help: 'Files deleted by the cleanup job: unreferenced past their grace, or uploads abandoned past expiry',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    nodeInfo: new Gauge({
      name: 'parley_node_info',
      help: 'Always 1; labels name this node and its adapters',
      labelNames: ['store', 'bus'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
