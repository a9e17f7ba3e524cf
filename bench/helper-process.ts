// A helper process asked one thing at a time over IPC, each request with a deadline, and its CPU
// time from /proc. One class for the sections that drive helpers of their own (bench/broadcast/,
// bench/faults/), so the rule that a timed-out helper is asked nothing more lives in one place.
import type { BenchChild } from './child-process';
import { processCpuMs } from './worker-process';

/** What a helper answers instead when it could not do what it was asked. */
export interface ErrorReply {
  type: 'error';
  message: string;
}

/** A request that names no deadline of its own gets this long. */
const REQUEST_TIMEOUT_MS = 20_000;

/** Narrows a helper's reply to the expected type, or throws with what came instead. */
export function expectReply<T extends { type: string }>(reply: unknown, type: T['type']): T {
  if (typeof reply !== 'object' || reply === null) throw new Error(`expected a ${type} reply, got ${String(reply)}`);
  const kind = (reply as { type?: unknown }).type;
  if (kind === 'error') throw new Error((reply as ErrorReply).message);
  if (kind !== type) throw new Error(`expected a ${type} reply, got ${JSON.stringify(reply).slice(0, 200)}`);
  return reply as T;
}

/** A helper process with bounded requests: one at a time (replies are not tagged). */
export class HelperProcess<RequestMessage extends { type: string } = { type: string }> {
  /** Set once a request timed out: its late reply would answer the next one, so no more are sent. */
  private broken: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly label: string,
    protected readonly child: BenchChild,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  /** CPU ms this process has used so far (/proc, 10 ms resolution); NaN once it has gone. */
  cpuMs(): number {
    try {
      return processCpuMs(this.child.pid);
    } catch {
      return NaN;
    }
  }

  /** Sends `message` (after any request in progress) and checks the reply's type. */
  request<T extends { type: string }>(
    message: RequestMessage,
    type: T['type'],
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.broken) throw new Error(`${this.label}: ${this.broken}`);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.broken = `no answer to ${message.type} within ${timeoutMs / 1000} s`;
          reject(new Error(`${this.label}: ${this.broken}`));
        }, timeoutMs);
      });
      try {
        return expectReply<T>(await Promise.race([this.child.request(message), deadline]), type);
      } finally {
        clearTimeout(timer);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
