// The Analytics Engine SQL behind `npm run stats -- --remote`, the same queries docs/operations.md
// gives (scripts/deploy-rehearsal.mjs checks the page quotes each one). Fields: src/metrics/metrics.ts.
export const DATASET = 'asset_edge_metrics'

/** Named queries over the last `hours` hours; each weights rows by `_sample_interval` (Analytics Engine samples). */
export const QUERIES = {
  'hit ratio by tier': `SELECT blob3 AS tier, SUM(_sample_interval) AS lookups
FROM asset_edge_metrics
WHERE blob1 = 'lookup' AND timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY tier
ORDER BY lookups DESC`,
  'upstream latency by provider': `SELECT blob2 AS provider, SUM(_sample_interval) AS calls,
  quantileExactWeighted(0.5)(double3, _sample_interval) AS p50_ms,
  quantileExactWeighted(0.99)(double3, _sample_interval) AS p99_ms
FROM asset_edge_metrics
WHERE blob1 = 'lookup' AND double2 > 0 AND timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY provider
ORDER BY provider`,
  'error rate by provider': `SELECT blob2 AS provider, SUM(_sample_interval) AS lookups,
  SUM(IF(double1 >= 500, _sample_interval, 0)) AS errors,
  SUM(IF(double1 >= 500, _sample_interval, 0)) / SUM(_sample_interval) AS rate
FROM asset_edge_metrics
WHERE blob1 = 'lookup' AND timestamp > NOW() - INTERVAL '1' HOUR
GROUP BY provider
ORDER BY provider`,
}
