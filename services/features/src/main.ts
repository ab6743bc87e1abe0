// Entry point: `tsx services/features/src/main.ts`. Configuration from the environment
// (MMIT_FEATURES_*, MMIT_S3_*, MMIT_API_KEY; see docs/features.md).
import { createFeaturesService } from './app.js';

const { start } = createFeaturesService();
const running = await start({ handleSignals: true });
// One line on stdout that a parent process (tests, the launcher) can wait for.
process.stdout.write(`features listening ${running.url}\n`);
