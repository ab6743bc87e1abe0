// OpenAI's request fields this server does not implement, refused with a 400 that names the
// field (code `unsupported_parameter`, or `unsupported_value` for a value of a field it does
// implement), rather than dropped: a client that asked for function calling or a JSON answer must
// not get an ordinary text answer that looks like success. Fields that do not change the answer
// (user, metadata, store, parallel_tool_calls without tools) are not listed.
import { OpenAIError } from './errors.js';
import type { ChatCompletionRequest, CompletionRequest } from './schemas.js';

const REASONS: Record<string, string> = {
  tools: 'function calling (tools) is not supported',
  functions: 'function calling (functions) is not supported',
  function_call: 'function calling (function_call) is not supported',
  tool_choice: 'tool_choice is not supported (no tools)',
  audio: 'audio output is not supported; answers are text',
  prediction: 'predicted outputs are not supported',
  web_search_options: 'web search is not supported',
  reasoning_effort: 'reasoning_effort is not supported: served models do not reason in hidden tokens',
  suffix: 'suffix (insertion) is not supported',
};

function refuse(param: string, message: string, code = 'unsupported_parameter'): never {
  throw new OpenAIError(400, message, 'invalid_request_error', param, code);
}

/** A field counts as set when it holds something other than its "off" value. */
function isSet(field: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (field === 'tool_choice' || field === 'function_call') return value !== 'none';
  return true;
}

export function refuseUnsupportedChat(body: ChatCompletionRequest): void {
  for (const field of ['tools', 'functions', 'function_call', 'tool_choice', 'audio', 'prediction']) {
    if (isSet(field, body[field as keyof ChatCompletionRequest])) refuse(field, REASONS[field]);
  }
  for (const field of ['web_search_options', 'reasoning_effort'] as const) {
    if (isSet(field, body[field])) refuse(field, REASONS[field]);
  }
  if (body.modalities?.some((m) => m !== 'text')) {
    refuse(
      'modalities',
      `only the text modality is answered (asked: ${body.modalities.join(', ')})`,
      'unsupported_value',
    );
  }
  const format = body.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') {
    refuse(
      'response_format',
      `response_format ${format} is not supported: this server cannot constrain or guarantee JSON output; ask for JSON in the prompt and parse the text, or use type "text"`,
      'unsupported_value',
    );
  }
}

export function refuseUnsupportedCompletion(body: CompletionRequest): void {
  if (isSet('suffix', body.suffix) && body.suffix !== '') refuse('suffix', REASONS.suffix);
  // best_of = n draws n and returns them all, which is what n does here; more would need ranking.
  if (body.best_of != null && body.best_of !== (body.n ?? 1)) {
    refuse(
      'best_of',
      `best_of ${body.best_of} is not supported (choosing the best of several answers by logprob); use n to get several answers`,
      'unsupported_value',
    );
  }
}
