// Entry point: `tsx services/trainer/src/main.ts`. Configuration from the environment
// (MMIT_TRAINER_*, MMIT_FEATURES_URL, MMIT_S3_*, MMIT_API_KEY; see docs/training.md).
import { createTrainerService } from './app.js';

const { start } = createTrainerService();
await start({ handleSignals: true });
