// Entry point: `tsx services/console/src/main.ts` (or `pnpm --filter @mmit/console start`).
// Builds the browser app on first start, then serves it on MMIT_CONSOLE_PORT (default 7076).
import { createConsoleServer } from './app.js';
import { ensureWebBuild } from './web-build.js';

const server = createConsoleServer();
if ((await ensureWebBuild()) === 'built') server.logger.info('built the browser app into dist/');
const running = await server.listen();
console.log(`mmit console: ${running.url}`);
const stop = () => {
  running.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
