// The one error class of the export package: a run that cannot be exported, or an output that
// cannot be written, with a message that names the run, file or field and what would fix it.
// `problemCode` follows the services' problem+json codes so an HTTP caller can map it directly.

export type ExportProblemCode = 'not_found' | 'validation' | 'conflict';

export class ExportError extends Error {
  override name = 'ExportError';

  constructor(
    readonly problemCode: ExportProblemCode,
    message: string,
  ) {
    super(message);
  }
}
