// The settings every service with jobs shares: who this replica is, how long a lease lasts, how
// long jobs wait out an unreachable store, and how often a replica looks for work. One table,
// read by each service's config spec so they appear (with defaults) in docs/configuration.md.
import { hostname } from 'node:os';
import { z } from 'zod';
import { envVar } from '../config.js';

export const jobsConfigSpec = {
  replicaId: envVar(
    'MMIT_REPLICA_ID',
    z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'use 1-100 characters of [A-Za-z0-9._:-]' })
      .optional(),
    "This process's name among the replicas of its service (default `<hostname>-<pid>`). Must be unique among running processes; a process restarted under the same name takes its previous life's jobs back at once instead of waiting for their leases to expire (the launcher names replicas `<service>-<n>`; in Kubernetes use the pod name).",
  ),
  leaseSec: envVar(
    'MMIT_JOB_LEASE_SEC',
    z.coerce.number().min(1).max(3600).default(30),
    "How long a job's (or unit's) lease lasts without renewal. The owner renews every third of it; a replica takes a job over when its record has not changed for a whole lease, so this bounds how long a dead replica's work waits.",
  ),
  storagePatienceSec: envVar(
    'MMIT_STORAGE_PATIENCE_SEC',
    z.coerce.number().min(0).max(86_400).default(300),
    'How long a job waits out an unreachable object store (showing `waiting for storage` in its progress) before it fails. The default covers a MinIO node restart.',
  ),
  jobPollMs: envVar(
    'MMIT_JOB_POLL_MS',
    z.coerce.number().int().min(50).max(60_000).default(2_000),
    'How often a replica looks for jobs and units to claim (work submitted to this replica starts at once).',
  ),
};

/** The default replica name: host and process id, unique among live processes. */
export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}`;
}

/** JobRunner options from a service config that includes jobsConfigSpec. */
export function jobRunnerSettings(config: {
  replicaId?: string;
  leaseSec: number;
  storagePatienceSec: number;
  jobPollMs: number;
}): { replicaId: string; leaseMs: number; storagePatienceMs: number; pollMs: number } {
  return {
    replicaId: config.replicaId ?? defaultReplicaId(),
    leaseMs: config.leaseSec * 1000,
    storagePatienceMs: config.storagePatienceSec * 1000,
    pollMs: config.jobPollMs,
  };
}
