/**
 * Live traffic and probes together (issue 18 items 4 and 5): incidents both share, the coverage
 * `watch` reads, and the proxy's metrics and health. What others may use.
 */
export { coveredProbes, DEFAULT_TRAFFIC_WINDOW_MS, operationOf, trafficOperation } from './coverage.ts'
export { Incidents, TRAFFIC_RECOVERY, type Decision, type IncidentSource, type IncidentsOptions, type Judgement, type RecoveryRule } from './incidents.ts'
export { DEFAULT_HEALTH_WINDOW_MS, ProxyMetrics, serveProxyMetrics, UNATTRIBUTED_LABEL, type ProxyMetricsOptions } from './metrics.ts'
export { TrafficIncidents, type IncidentMetrics, type TrafficIncidentsOptions } from './traffic-incidents.ts'
