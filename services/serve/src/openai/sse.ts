// Server-sent events the way OpenAI streams: `data: <json>\n\n` per chunk and `data: [DONE]` at
// the end, no event names. Headers are written with the first chunk, so a request that fails
// before generating (429, 400) still gets an ordinary HTTP error.
import type { Response } from 'express';

export class ChunkWriter {
  private started = false;

  constructor(private readonly res: Response) {}

  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  write(chunk: unknown): void {
    if (!this.open) return;
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
    }
    this.res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  end(): void {
    if (!this.open) return;
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
}
