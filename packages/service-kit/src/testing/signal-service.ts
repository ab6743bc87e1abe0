// A tiny service for the signal test: listens with signal handling on, has a slow route, and
// prints its URL and its shutdown hook so the parent test can follow along.
import { createService } from '../service.js';

const service = createService({
  name: 'signals',
  version: '0',
  defaultPort: 0,
  env: { MMIT_LOG_LEVEL: 'silent' },
});
service.router.get('/slow', async (_req, res) => {
  await new Promise((r) => setTimeout(r, 400));
  res.json({ finished: true });
});
service.onShutdown(() => {
  process.stdout.write('hook ran\n');
});
const running = await service.listen({ handleSignals: true });
process.stdout.write(`${running.url}\n`);
