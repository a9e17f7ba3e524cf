/**
 * Bytes of request bodies one process may have in the layer at once. A request takes bytes before
 * it sends a chunk and gives them back when the consumer has read it or the request ends; a request
 * that finds no room waits (its socket is not read meanwhile), first come first served.
 */
export class BodyBudget {
  private used = 0;
  private readonly waiters: Array<{ bytes: number; grant: (granted: boolean) => void }> = [];

  constructor(readonly limit: number) {}

  /** Bytes taken now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes`, waiting for room up to `timeoutMs`; false when none came in time (or `signal` aborted). */
  take(bytes: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.waiters.length === 0 && this.used + bytes <= this.limit) {
      this.used += bytes;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        bytes,
        grant: (granted: boolean): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abandon);
          resolve(granted);
        },
      };
      const abandon = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        waiter.grant(false);
        this.wake();
      };
      const timer = setTimeout(abandon, timeoutMs);
      signal?.addEventListener('abort', abandon, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.wake();
  }

  /** Grants waiters in order while they fit. */
  private wake(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0].bytes <= this.limit) {
      const waiter = this.waiters.shift()!;
      this.used += waiter.bytes;
      waiter.grant(true);
    }
  }
}
