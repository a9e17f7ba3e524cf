import type { Logger } from '@nestjs/common';

/** Quiet time after which a burst is over and its summary is logged. */
const DEFAULT_QUIET_MS = 5000;

/**
 * Logs the first event of a burst as a warning and only counts the rest; once the events stop for
 * a while, one line says how many there were. A flood of failures costs a few lines, not one each.
 */
export class BurstLogger {
  private count = 0;
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    /** What the events are, for the summary: "sockets closed by back-pressure". */
    private readonly what: string,
    private readonly quietMs = DEFAULT_QUIET_MS,
  ) {}

  /** One event; `detail` is logged only for the first of a burst. */
  event(detail: string): void {
    this.count++;
    if (this.count === 1) {
      this.firstAt = Date.now();
      this.logger.warn(detail);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.quietMs);
    this.timer.unref();
  }

  /** Logs the summary of the burst now (if it had more than its first event) and starts a new one. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count > 1) {
      const seconds = ((Date.now() - this.firstAt) / 1000).toFixed(1);
      this.logger.warn(`${this.count} ${this.what} in ${seconds} s`);
    }
    this.count = 0;
  }
}
