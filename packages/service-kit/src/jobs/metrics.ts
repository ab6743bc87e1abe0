// The job engine's Prometheus metrics: what coordinating replicas through the store costs.
// Claims (won or lost to another replica) of jobs and units, lease renewals (the timer's bare
// rewrites of a held record), progress writes, and how long a unit waited between its job's plan
// and its first claim. Registered on the service's registry when one is given, so they appear on
// its /metrics; without one (tests, libraries) they count into a private registry. A service with
// two engines (the trainer: runs and exports) registers them once; both count into them.
import { Counter, Histogram, type Metric, Registry } from 'prom-client';

export interface JobMetrics {
  claims: Counter<'what' | 'result'>;
  renewals: Counter<'what'>;
  progressWrites: Counter<'what'>;
  unitWait: Histogram;
}

export function createJobMetrics(registry: Registry = new Registry()): JobMetrics {
  const existing = registry.getSingleMetric('mmit_job_claims_total');
  if (existing) {
    const get = <M extends Metric>(name: string) => registry.getSingleMetric(name) as M;
    return {
      claims: existing as Counter<'what' | 'result'>,
      renewals: get('mmit_job_lease_renewals_total'),
      progressWrites: get('mmit_job_progress_writes_total'),
      unitWait: get('mmit_job_unit_wait_seconds'),
    };
  }
  const registers = [registry];
  return {
    claims: new Counter({
      name: 'mmit_job_claims_total',
      help: 'Claims of a job or unit by this replica: won, or refused (another replica holds it or got there first: a conditional write refused)',
      labelNames: ['what', 'result'] as const,
      registers,
    }),
    renewals: new Counter({
      name: 'mmit_job_lease_renewals_total',
      help: 'Lease renewals of held jobs and units (the periodic rewrite of a held record)',
      labelNames: ['what'] as const,
      registers,
    }),
    progressWrites: new Counter({
      name: 'mmit_job_progress_writes_total',
      help: 'Throttled progress writes of held jobs and units',
      labelNames: ['what'] as const,
      registers,
    }),
    unitWait: new Histogram({
      name: 'mmit_job_unit_wait_seconds',
      help: "Time from a split job's plan to the first claim of each of its units",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
  };
}
