// The gateway on its own, for containers (`infra/run-service.sh gateway`): where it listens and
// where each service is come from the environment; `pnpm start` runs the same gateway inside the
// launcher instead. A service URL's host may name several replicas (compose) or one Kubernetes
// Service; see gateway.ts.
import { z } from 'zod';
import { API_SERVICES, type ApiService } from '../packages/contracts/src/index.js';
import { type ConfigOf, envVar, loadConfig } from '../packages/service-kit/src/config.js';
import { startGateway } from './gateway.js';
import { SERVICES } from './launch.js';

const defaultUrl = (service: ApiService) =>
  `http://127.0.0.1:${SERVICES.find((s) => s.name === service)?.port}`;

export const gatewayConfigSpec = {
  host: envVar('MMIT_GATEWAY_HOST', z.string().min(1).default('127.0.0.1'), 'Address to listen on.'),
  port: envVar(
    'MMIT_GATEWAY_PORT',
    z.coerce.number().int().min(0).max(65535).default(7070),
    'Port to listen on (0 picks a free one).',
  ),
  ...Object.fromEntries(
    API_SERVICES.map((service) => [
      service,
      envVar(
        `MMIT_GATEWAY_${service.toUpperCase()}_URL`,
        z.url().default(defaultUrl(service)),
        `Base URL of the ${service} service (a host name that stands for several replicas spreads requests over them).`,
      ),
    ]),
  ),
} as const;

export type GatewayConfig = ConfigOf<typeof gatewayConfigSpec>;

if (process.argv[1]?.endsWith('gateway-main.ts')) {
  const config = loadConfig(gatewayConfigSpec);
  const services = Object.fromEntries(
    API_SERVICES.map((service) => [service, String(config[service as keyof GatewayConfig])]),
  );
  const gateway = await startGateway({ host: config.host, port: config.port, services });
  console.log(`mmit gateway: ${gateway.url} -> ${JSON.stringify(services)}`);
  const stop = () => {
    gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
