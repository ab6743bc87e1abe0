// Entry point: `tsx services/serve/src/main.ts`. Configuration from the environment
// (MMIT_SERVE_*, MMIT_S3_*, MMIT_API_KEY; see docs/serving.md).
import { createServeService } from './app.js';

const { start } = createServeService();
await start({ handleSignals: true });
