// The synthesis service's own environment variables (on top of service-kit's shared ones and the
// MMIT_S3_* storage variables). One table: it validates at start-up and renders into docs/.
import { envVar, jobsConfigSpec } from '@mmit/service-kit';
import { z } from 'zod';

export const SYNTH_DEFAULT_PORT = 7072;

export const synthConfigSpec = {
  ...jobsConfigSpec,
  llmBaseUrl: envVar(
    'MMIT_SYNTH_LLM_BASE_URL',
    z.url().optional(),
    'Base URL of an OpenAI-compatible chat endpoint (`.../v1/chat/completions` is appended); needed by recipes with generator `llm`.',
  ),
  llmModel: envVar(
    'MMIT_SYNTH_LLM_MODEL',
    z.string().min(1).default('gpt-4o-mini'),
    'Model name sent to the endpoint (a recipe may override it).',
  ),
  llmApiKey: envVar(
    'MMIT_SYNTH_LLM_API_KEY',
    z.string().min(1).optional(),
    'Bearer key for the chat endpoint.',
    { secret: true },
  ),
  partItems: envVar(
    'MMIT_SYNTH_PART_ITEMS',
    z.coerce.number().int().min(1).max(100_000).default(200),
    'Corpus items per unit of a dataset job: any replica claims a unit, drafts its items, and the unit becomes one sample part when the job finishes. A unit is what a killed replica loses (another replica redoes it).',
  ),
  jobConcurrency: envVar(
    'MMIT_SYNTH_JOBS',
    z.coerce.number().int().min(1).max(16).default(1),
    'Units of dataset jobs this replica works on at once (of one job or several).',
  ),
};
