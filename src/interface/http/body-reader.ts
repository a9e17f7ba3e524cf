import type { IncomingMessage } from 'node:http';

/** The body stopped arriving for longer than the body timeout. */
export class BodyStalled extends Error {}

/** The client went away before the whole body arrived. */
export class BodyAborted extends Error {}

/**
 * Reads a request body in pieces of a given size, pulling from the socket only when asked (so an
 * unread body is left in the kernel and the client is slowed by TCP, not buffered here), and
 * failing a read that stalls longer than `idleMs`. A body a parser already read is served from
 * memory the same way.
 */
export class BodyReader {
  private readonly source: AsyncIterator<Buffer> | undefined;
  private readonly request: IncomingMessage | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** Bytes read so far. */
  total = 0;

  constructor(
    body: IncomingMessage | Buffer,
    private readonly idleMs: number,
  ) {
    if (Buffer.isBuffer(body)) {
      if (body.length > 0) this.pending.push(body);
      this.pendingBytes = body.length;
      this.total = body.length;
      this.done = true;
    } else {
      this.request = body;
      this.source = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    }
  }

  /** Whether every byte has been read and handed out. */
  get ended(): boolean {
    return this.done && this.pendingBytes === 0;
  }

  /** Up to `size` bytes: fewer only at the end of the body. Throws BodyStalled or BodyAborted. */
  async read(size: number): Promise<Buffer> {
    while (!this.done && this.pendingBytes < size) {
      const chunk = await this.next();
      if (chunk === undefined) this.done = true;
      else {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        this.total += chunk.length;
      }
    }
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const piece = all.subarray(0, size);
    const rest = all.subarray(size);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return piece;
  }

  private async next(): Promise<Buffer | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BodyStalled('the request body stalled')), this.idleMs);
    });
    try {
      const result = await Promise.race([this.source!.next(), stalled]);
      if (!result.done) return result.value;
      if (this.request && !this.request.complete) throw new Error('the stream ended early');
      return undefined;
    } catch (error) {
      if (error instanceof BodyStalled) throw error;
      throw new BodyAborted(`the client went away before the whole body arrived (${(error as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
  }
}
