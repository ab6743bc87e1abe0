// The gateway on its own, for containers (`infra/run-service.sh gateway`): where it listens and
// where each service's replicas are come from the environment (gateway-settings.ts); `pnpm start`
// runs the same gateway inside the launcher instead. A service URL's host may name several
// replicas (compose) or one Kubernetes Service; see replica-pool.ts.
import { ConfigError, loadConfig } from '../packages/service-kit/src/config.js';
import { startGateway } from './gateway.js';
import { gatewayConfigSpec, upstreamsOf } from './gateway-settings.js';
import { PortInUseError } from './ports.js';

async function main(): Promise<void> {
  const config = loadConfig(gatewayConfigSpec);
  const services = upstreamsOf(config);
  const gateway = await startGateway({
    host: config.host,
    port: config.port,
    services,
    healthIntervalMs: config.healthIntervalMs,
    resolveIntervalMs: config.resolveIntervalMs,
  });
  // Requests are answered from the first check on rather than after one health interval.
  await gateway.checkNow();
  const routes = Object.entries(services).map(
    ([name, targets]) => `${name}=${targets.map((t) => t.url).join(',')}`,
  );
  console.log(`mmit gateway: ${gateway.url} -> ${routes.join(' ')}`);
  const stop = () => {
    gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main().catch((err: unknown) => {
  // Settings a person fixes: one message naming the variable, no stack trace.
  if (err instanceof ConfigError) console.error(`mmit gateway: ${err.message}`);
  else if (err instanceof PortInUseError)
    console.error(
      `mmit gateway: port ${err.choice.port} is already in use; set MMIT_GATEWAY_PORT to another (0 picks a free one)`,
    );
  else throw err;
  process.exit(1);
});
