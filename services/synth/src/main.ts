// Entry point: `tsx services/synth/src/main.ts`. Configuration from the environment
// (MMIT_SYNTH_*, MMIT_S3_*, MMIT_API_KEY; see docs/synth.md).
import { createSynthService } from './app.js';

const { start } = createSynthService();
await start({ handleSignals: true });
