import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
/** What metrics read of a spool (ingest's Spool has it). */
export interface SpoolGauges {
  stats(): { segments: number; bytes: number; dropped: number; oldestAgeMs: number };
}

/** One registry per app, so several apps in one process (tests, benches) keep separate numbers. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyrev_' });
  const spools = new Map<string, SpoolGauges>();
  const spoolGauge = (name: string, help: string, read: (s: SpoolGauges) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['table'] as const,
      registers: [registry],
      collect() {
        for (const [table, spool] of spools) this.set({ table }, read(spool));
      },
    });
  spoolGauge('keyrev_spool_segments', 'Spool segments not yet in ClickHouse', (s) => s.stats().segments);
  spoolGauge('keyrev_spool_bytes', 'Bytes of spool segments not yet in ClickHouse', (s) => s.stats().bytes);
  spoolGauge('keyrev_flush_lag_seconds', 'Age of the oldest spooled record not yet in ClickHouse', (s) => s.stats().oldestAgeMs / 1000);
  let ledger: { readonly size: number } | undefined;
  new Gauge({
    name: 'keyrev_ledger_conversions',
    help: 'Conversions whose current state the postback ledger keeps in memory (KEYREV_LEDGER_MAX_CONVERSIONS)',
    registers: [registry],
    collect() {
      if (ledger) this.set(ledger.size);
    },
  });
  spoolGauge('keyrev_spool_dropped_records', 'Records the spool could not keep (disk limit or write error) since start', (s) => s.stats().dropped);
  return {
    registry,
    httpRequests: new Counter({
      name: 'keyrev_http_requests_total',
      help: 'HTTP requests answered, by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'keyrev_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route',
      labelNames: ['route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    observeSpool(table: string, spool: SpoolGauges): void {
      spools.set(table, spool);
    },
    observeLedger(l: { readonly size: number }): void {
      ledger = l;
    },
    ledgerLookups: new Counter({
      name: 'keyrev_ledger_lookups_total',
      help: 'ClickHouse queries for postbacks the ledger could not decide from memory (one per batch of keys)',
      registers: [registry],
    }),
    rowsWritten: new Counter({
      name: 'keyrev_rows_written_total',
      help: 'Rows inserted into ClickHouse from the spool, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    damagedLines: new Counter({
      name: 'keyrev_spool_damaged_lines_total',
      help: 'Spool lines that are not a readable record (disk damage), left out of the insert, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    flushFailures: new Counter({
      name: 'keyrev_flush_failures_total',
      help: 'Failed spool flushes: ClickHouse unavailable (retried) or refused (segment split, refused rows set aside)',
      labelNames: ['table', 'reason'] as const,
      registers: [registry],
    }),
    rowsRejected: new Counter({
      name: 'keyrev_rows_rejected_total',
      help: 'Spool rows ClickHouse refused, set aside in spool/<table>/rejected/ (the other rows of their segment inserted), by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    clicks: new Counter({
      name: 'keyrev_clicks_total',
      help: 'Clicks redirected: recorded, missed (unknown or paused campaign), lost (not spooled), repeat (an ad click already recorded under its platform click id)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    landingVisits: new Counter({
      name: 'keyrev_landing_visits_total',
      help: "Landing-page script visits: new (a click recorded), repeat (the ad click's click found), refused (origin, campaign, body or rate)",
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    postbacks: new Counter({
      name: 'keyrev_postbacks_total',
      help: 'Postbacks accepted, by network and what they did: new, transition, update, add, duplicate, stale; lost (not spooled)',
      labelNames: ['network', 'result'] as const,
      registers: [registry],
    }),
    postbackRefusals: new Counter({
      name: 'keyrev_postback_refusals_total',
      help: 'Postbacks refused (4xx, nothing stored), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    postbackWarnings: new Counter({
      name: 'keyrev_postback_warnings_total',
      help: 'Postbacks accepted with something for the operator to fix (no_rate: no exchange rate for the currency)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    outboundDeliveries: new Counter({ name: 'keyrev_outbound_deliveries_total', help: 'Outgoing postback attempts, by result: delivered, retry (tried again later), failed (given up), refused (destination refused by the SSRF guard)', labelNames: ['result'] as const, registers: [registry] }),
    outboundQueueDepth: new Gauge({ name: 'keyrev_outbound_queue_depth', help: 'Outgoing postback deliveries pending or waiting for a retry (seen by the process running the cluster jobs)', registers: [registry] }),
    outboundOldestPendingSeconds: new Gauge({ name: 'keyrev_outbound_oldest_pending_seconds', help: 'Age of the oldest outgoing postback delivery not yet delivered or failed (0: none)', registers: [registry] }),
    rejects: new Counter({
      name: 'keyrev_rejects_total',
      help: 'Requests refused, by error code (every code but KR_INTERNAL, a bug, which is logged instead)',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    alerts: new Counter({ name: 'keyrev_alerts_total', help: 'Alerts raised, by event (alert, recovery)', labelNames: ['event'] as const, registers: [registry] }),
    alertDeliveries: new Counter({ name: 'keyrev_alert_deliveries_total', help: 'Alert messages sent to channels (after retries), by channel type and result (ok, failed)', labelNames: ['type', 'result'] as const, registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts every request on the root instance, so routes of every plugin are seen. */
export function countRequests(app: import('fastify').FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}
