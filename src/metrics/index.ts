/** Prometheus metrics of a guard and the bearer-protected `/metrics` endpoint. */
export { HarvestGuardMetrics, METRIC_NAMES, STORE_OPERATIONS } from './metrics.ts'
export type { MetricsOptions, MetricsSources, StoreOperation } from './metrics.ts'
export { METRICS_TOKEN_REQUIRED, createMetricsHandler, startMetricsServer } from './server.ts'
export type { MetricsHandlerOptions, MetricsServerOptions } from './server.ts'
