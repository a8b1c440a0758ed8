import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StartupError } from './errors.js';
import { currencyCode } from './schemas.js';

const port = z.coerce.number().int().min(0).max(65535);

const clickhouseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://default:@localhost:8123/keyrev' })
  .optional();

/** Every environment variable keyrev reads; the README lists the same names. */
const envSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  KEYREV_DATA_DIR: z.string().min(1).default('./data'),
  CLICKHOUSE_URL: clickhouseUrl,
  KEYREV_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  KEYREV_NODE_ID: z.coerce.number().int().min(0).max(1023).default(0),
  KEYREV_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYREV_STARTUP_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  KEYREV_SETTINGS_REFRESH_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  KEYREV_FALLBACK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  // Proxies whose X-Forwarded-For is believed: loopback (a proxy on this machine) by default. Not
  // every private range: a visitor on the same LAN or VPC could then choose its own address.
  KEYREV_TRUST_PROXY: z.string().min(1).default('loopback'),
  KEYREV_IP_STORAGE: z.enum(['full', 'truncated']).default('full'),
  KEYREV_COUNTRY_HEADER: z.string().regex(/^[a-z0-9-]+$/i, 'must be a header name').optional(),
  KEYREV_GEOIP_MMDB: z.string().min(1).refine((file) => fs.existsSync(file), 'no such file').optional(),
  KEYREV_UNIQUE_WINDOW_HOURS: z.coerce.number().min(0).max(24 * 90).default(24),
  KEYREV_SPOOL_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).default(8 * 1024 ** 3),
  KEYREV_FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  // Required from every postback of a network without a secret or allowlist of its own (the global
  // /postback too); unset, one is generated into the data directory. `off` accepts postbacks from anyone.
  KEYREV_POSTBACK_SECRET: z
    .string()
    .refine((v) => v === 'off' || v.length >= 8, 'must be at least 8 characters, or off')
    .optional(),
  KEYREV_CURRENCY: currencyCode.default('USD'),
  KEYREV_RATES_FILE: z.string().min(1).refine((file) => fs.existsSync(file), 'no such file').optional(),
  KEYREV_BULK_MAX_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 ** 3),
  // How long one bulk stream may take; an hour reads the largest default stream at the benchmark's pace.
  KEYREV_BULK_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  KEYREV_LEDGER_MAX_CONVERSIONS: z.coerce.number().int().min(10).default(1_000_000),
  // Cluster jobs (alert checks, outgoing deliveries) run where this is on: with several processes
  // on one ClickHouse server, leave it on in exactly one.
  KEYREV_JOBS: z.enum(['on', 'off']).default('on'),
  // Slow clients (slowloris): each limit closes a connection that holds a socket without sending.
  KEYREV_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  KEYREV_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  KEYREV_STREAM_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  KEYREV_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(72_000),
  KEYREV_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(10_000),
  // /metrics is public by default so that Prometheus scrapes it without a key.
  KEYREV_METRICS_AUTH: z.enum(['on', 'off']).default('off'),
  KEYREV_MAX_CONCURRENT_EXPORTS: z.coerce.number().int().min(1).max(1000).default(2),
  KEYREV_EXPORT_MIN_FREE_BYTES: z.coerce.number().int().min(0).default(1024 ** 3),
  KEYREV_ALERT_CHECK_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
  KEYREV_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL such as smtp://user:pass@mail.example:587' }).optional(),
  KEYREV_OUTBOUND_ALLOW: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== '')),
  KEYREV_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://track.example.com' }).transform((v) => v.replace(/\/+$/, '')).optional(),
});

/** The name of every environment variable keyrev reads (the README's Configuration table lists each). */
export const envVarNames: readonly string[] = Object.keys(envSchema.shape);

/** The environment as the app uses it: the type is inferred here, never written beside the schema. */
const configSchema = envSchema.transform((e) => ({
  port: e.PORT,
  host: e.HOST,
  dataDir: path.resolve(e.KEYREV_DATA_DIR),
  clickhouseUrl: e.CLICKHOUSE_URL,
  adminKey: e.KEYREV_ADMIN_KEY,
  nodeId: e.KEYREV_NODE_ID,
  logLevel: e.KEYREV_LOG_LEVEL,
  startupTimeoutMs: e.KEYREV_STARTUP_TIMEOUT_MS,
  settingsRefreshMs: e.KEYREV_SETTINGS_REFRESH_MS,
  fallbackUrl: e.KEYREV_FALLBACK_URL,
  trustProxy: e.KEYREV_TRUST_PROXY,
  ipStorage: e.KEYREV_IP_STORAGE,
  countryHeader: e.KEYREV_COUNTRY_HEADER?.toLowerCase(),
  geoDatabase: e.KEYREV_GEOIP_MMDB,
  uniqueWindowMs: e.KEYREV_UNIQUE_WINDOW_HOURS * 3_600_000,
  spoolMaxBytes: e.KEYREV_SPOOL_MAX_BYTES,
  flushIntervalMs: e.KEYREV_FLUSH_INTERVAL_MS,
  // false: postbacks need no secret (KEYREV_POSTBACK_SECRET=off); undefined: the generated one.
  postbackSecret: e.KEYREV_POSTBACK_SECRET === 'off' ? (false as const) : e.KEYREV_POSTBACK_SECRET,
  currency: e.KEYREV_CURRENCY,
  ratesFile: e.KEYREV_RATES_FILE,
  bulkMaxBytes: e.KEYREV_BULK_MAX_BYTES,
  bulkMaxSeconds: e.KEYREV_BULK_MAX_SECONDS,
  ledgerMaxConversions: e.KEYREV_LEDGER_MAX_CONVERSIONS,
  clusterJobs: e.KEYREV_JOBS === 'on',
  headersTimeoutMs: e.KEYREV_HEADERS_TIMEOUT_MS,
  bodyTimeoutMs: e.KEYREV_BODY_TIMEOUT_MS,
  streamIdleTimeoutMs: e.KEYREV_STREAM_IDLE_TIMEOUT_MS,
  keepAliveTimeoutMs: e.KEYREV_KEEP_ALIVE_TIMEOUT_MS,
  maxConnections: e.KEYREV_MAX_CONNECTIONS,
  metricsAuth: e.KEYREV_METRICS_AUTH === 'on',
  maxConcurrentExports: e.KEYREV_MAX_CONCURRENT_EXPORTS,
  exportMinFreeBytes: e.KEYREV_EXPORT_MIN_FREE_BYTES,
  alertCheckMs: e.KEYREV_ALERT_CHECK_MS,
  smtpUrl: e.KEYREV_SMTP_URL,
  outboundAllow: e.KEYREV_OUTBOUND_ALLOW,
  publicUrl: e.KEYREV_PUBLIC_URL,
}));

export type Config = z.output<typeof configSchema>;

/** Reads the configuration from an environment; a bad variable throws a StartupError naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as shells and compose files often pass VAR= for optional ones.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StartupError(`invalid ${String(issue.path[0])}: ${issue.message}`);
  }
  return parsed.data;
}
