// The ApiClient a command talks through, built from the global --url / --api-key options. A command
// group whose service can also be reached directly (dataset: --synth-url, chat: --serve-url) names
// its own option and environment variable; they win over --url when set.
import type { Command } from 'commander';
import { ApiClient } from './http-client.js';

/** A command's own base-URL option (camelCase, as commander stores it) and its environment variable. */
export interface ServiceUrl {
  option: string;
  env: string;
}

export function clientOf(command: Command, service?: ServiceUrl): ApiClient {
  // main.ts gives --url a default, so it is always set.
  const options = command.optsWithGlobals<{
    url: string;
    apiKey?: string;
    [option: string]: string | undefined;
  }>();
  const own = service ? (options[service.option] ?? process.env[service.env]) : undefined;
  const url = own ?? options.url;
  return new ApiClient({ url, ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
}
