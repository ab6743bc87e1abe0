// Entry point: `tsx services/ingest/src/main.ts`. Configuration from the environment
// (MMIT_INGEST_*, MMIT_S3_*, MMIT_API_KEY; see docs/configuration.md).
import { createIngestService } from './app.js';

const { start } = createIngestService();
await start({ handleSignals: true });
