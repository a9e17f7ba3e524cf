/** A blocked receive: ended by a send (its value), by its timeout, its signal or the layer closing (null). */
interface Waiter<T> {
  keys: readonly string[];
  /** Date.now() milliseconds; Infinity when the receive waits for ever. */
  deadline: number;
  signal: AbortSignal | undefined;
  resolve(value: T | null): void;
}

/**
 * The receives blocked on an in-memory layer, oldest first per key. A busy worker or reply loop
 * blocks once per message, so a block costs no timer and no abort listener of its own: one timer
 * serves every deadline (set for the earliest) and one listener serves every receive given the
 * same AbortSignal.
 */
export class ReceiveWaiters<T> {
  private readonly byKey = new Map<string, Set<Waiter<T>>>();
  private readonly timed = new Set<Waiter<T>>();
  private readonly bySignal = new WeakMap<AbortSignal, Set<Waiter<T>>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /** Blocks until `deliver` hands this receive a value for one of `keys`, or `waitMs` passes. */
  wait(keys: readonly string[], waitMs: number, signal?: AbortSignal): Promise<T | null> {
    return new Promise((resolve) => {
      const waiter: Waiter<T> = {
        keys: keys.length > 1 ? [...new Set(keys)] : keys,
        deadline: Number.isFinite(waitMs) ? Date.now() + waitMs : Infinity,
        signal,
        resolve,
      };
      for (const key of waiter.keys) {
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(waiter);
      }
      if (waiter.deadline !== Infinity) {
        this.timed.add(waiter);
        this.schedule(waiter.deadline);
      }
      if (signal) this.watch(signal, waiter);
    });
  }

  /** Hands `value` to the longest-blocked receive on `key`; false when none is blocked there. */
  deliver(key: string, value: T): boolean {
    const set = this.byKey.get(key);
    if (!set) return false;
    const first = set.values().next();
    if (first.done) return false;
    this.settle(first.value, value);
    return true;
  }

  /** Ends every blocked receive with null and stops the timer. */
  endAll(): void {
    for (const set of [...this.byKey.values()]) for (const waiter of set) this.settle(waiter, null);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private settle(waiter: Waiter<T>, value: T | null): void {
    for (const key of waiter.keys) {
      const set = this.byKey.get(key);
      if (!set) continue;
      set.delete(waiter);
      if (set.size === 0) this.byKey.delete(key);
    }
    if (waiter.deadline !== Infinity) {
      this.timed.delete(waiter);
      // The timer stays set for its deadline, but must not keep the process alive for nobody.
      if (this.timed.size === 0) this.timer?.unref();
    }
    if (waiter.signal) this.bySignal.get(waiter.signal)?.delete(waiter);
    waiter.resolve(value);
  }

  private watch(signal: AbortSignal, waiter: Waiter<T>): void {
    let watched = this.bySignal.get(signal);
    if (!watched) {
      const waiters = new Set<Waiter<T>>();
      this.bySignal.set(signal, (watched = waiters));
      signal.addEventListener('abort', () => [...waiters].forEach((w) => this.settle(w, null)), { once: true });
    }
    watched.add(waiter);
  }

  private schedule(deadline: number): void {
    if (this.timer && deadline >= this.timerAt) {
      this.timer.ref();
      return;
    }
    clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()));
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const waiter of [...this.timed]) {
      if (waiter.deadline <= now) this.settle(waiter, null);
      else next = Math.min(next, waiter.deadline);
    }
    if (next !== Infinity) this.schedule(next);
  }
}
