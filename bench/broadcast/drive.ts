// Drives one measured run: group sends either paced (one every intervalMs) or at the maximum rate
// (closed loop with a bounded window of sends not yet delivered to every socket), then waits for
// the last ones to arrive. Every wait has a deadline; a design that loses frames stalls no run.
import type { Helper } from './processes';
import { wallMs, type ProgressReply } from './protocol';

export interface PaceOutcome {
  sent: number;
  errors: number;
  firstError?: string;
}

/** Group sends (nestjs-channels: Group.send from the bench; Socket.IO: io.to().emit in server 1). */
export interface Sender {
  /** One send now, stamped `t` (when the bench asked for it): the closed loop's. */
  send(n: number, t: number): Promise<void>;
  /**
   * `count` sends from `firstN`, the i-th due at startAt + i × intervalMs and stamped with that
   * time, whether or not earlier ones are done: a sender that falls behind shows in the latency.
   */
  pace(firstN: number, count: number, intervalMs: number, startAt: number): Promise<PaceOutcome>;
}

export type Mode = 'paced' | 'max';

export interface DriveSettings {
  mode: Mode;
  /** paced: number of sends, one every intervalMs. */
  sends: number;
  intervalMs: number;
  /** max: how long sends go on. */
  durationMs: number;
  /** max: group sends not yet delivered to every socket, at most. */
  window: number;
  /** No progress for this long with sends outstanding: the rest is counted as lost. */
  stallMs: number;
  /** Longest wait after the last send for the outstanding ones. */
  drainMs: number;
}

export interface DriveOutcome {
  sends: number;
  sendErrors: number;
  firstSendError?: string;
  /** wallMs of the first send. */
  startedAt: number;
  /** wallMs when the last send was handed over. */
  lastSendAt: number;
  /** Sends every socket got (or skipped past), as the clients last reported. */
  completed: number;
  /** Why the run ended before every send completed. */
  incomplete?: string;
}

/** A client that cannot answer in this long is hung (a busy one answers within a few hundred ms). */
const PROGRESS_TIMEOUT_MS = 30_000;
/** Consecutive failed sends after which a run stops sending. */
const MAX_SEND_ERRORS = 20;

/** The clients' completed counts, kept current by one outstanding progress request per client. */
class Progress {
  error: string | undefined;
  lastChangeAt = wallMs();
  private readonly values: number[];
  private readonly loops: Promise<void>[];
  private active = true;
  private wakers: Array<() => void> = [];

  constructor(clients: readonly Helper[]) {
    this.values = clients.map(() => 0);
    this.loops = clients.map((client, i) => this.watch(client, i));
  }

  get completed(): number {
    return Math.min(...this.values);
  }

  /** Resolves at the next change (or error), or at `untilMs` (wallMs). */
  wait(untilMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, untilMs - wallMs()));
      const waker = (): void => done();
      this.wakers.push(waker);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  async stop(): Promise<void> {
    this.active = false;
    await Promise.allSettled(this.loops);
  }

  private async watch(client: Helper, i: number): Promise<void> {
    try {
      while (this.active) {
        const reply = await client.request<ProgressReply>(
          { type: 'progress', after: this.values[i] },
          'progress',
          PROGRESS_TIMEOUT_MS,
        );
        if (reply.completed > this.values[i]) {
          this.values[i] = reply.completed;
          this.lastChangeAt = wallMs();
          this.wake();
        }
      }
    } catch (error) {
      this.error ??= (error as Error).message;
      this.wake();
    }
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const waker of wakers) waker();
  }
}

/** Runs the sends of one measured run for clients that are already recording from `firstN`. */
export async function drive(
  sender: Sender,
  clients: readonly Helper[],
  firstN: number,
  settings: DriveSettings,
): Promise<DriveOutcome> {
  const progress = new Progress(clients);
  let sends = 0;
  let sendErrors = 0;
  let consecutiveErrors = 0;
  let firstSendError: string | undefined;
  let incomplete: string | undefined;
  let lastSendAt = 0;
  const send = async (): Promise<void> => {
    const n = firstN + sends++;
    try {
      await sender.send(n, wallMs());
      consecutiveErrors = 0;
    } catch (error) {
      sendErrors++;
      consecutiveErrors++;
      firstSendError ??= (error as Error).message;
    }
    lastSendAt = wallMs();
  };
  /** Outstanding sends with no progress for stallMs (since the later of the last change and the last send). */
  const stalled = (): boolean => wallMs() - Math.max(progress.lastChangeAt, lastSendAt) > settings.stallMs;
  const startedAt = wallMs();
  progress.lastChangeAt = startedAt;
  try {
    if (settings.mode === 'paced') {
      const paced = await sender.pace(firstN, settings.sends, settings.intervalMs, startedAt);
      sends = paced.sent;
      sendErrors = paced.errors;
      if (paced.firstError) firstSendError = paced.firstError;
      lastSendAt = wallMs();
    } else {
      const end = startedAt + settings.durationMs;
      while (wallMs() < end && !progress.error && consecutiveErrors < MAX_SEND_ERRORS) {
        if (sends - progress.completed < settings.window) {
          await send();
          continue;
        }
        if (stalled()) {
          incomplete = `no progress for ${settings.stallMs / 1000} s with ${sends - progress.completed} sends outstanding`;
          break;
        }
        await progress.wait(Math.min(end, Math.max(progress.lastChangeAt, lastSendAt) + settings.stallMs + 1));
      }
    }
    if (consecutiveErrors >= MAX_SEND_ERRORS) incomplete = `${MAX_SEND_ERRORS} sends failed in a row`;
    // Drain: the outstanding sends, bounded by the drain deadline and by stalls.
    const drainEnd = wallMs() + settings.drainMs;
    while (!incomplete && !progress.error && progress.completed < sends) {
      if (wallMs() >= drainEnd)
        incomplete = `${sends - progress.completed} sends not delivered everywhere after ${settings.drainMs / 1000} s`;
      else if (stalled())
        incomplete = `no progress for ${settings.stallMs / 1000} s with ${sends - progress.completed} sends outstanding`;
      else await progress.wait(Math.min(drainEnd, Math.max(progress.lastChangeAt, lastSendAt) + settings.stallMs + 1));
    }
  } finally {
    await progress.stop();
  }
  if (progress.error) throw new Error(progress.error);
  return {
    sends,
    sendErrors,
    ...(firstSendError ? { firstSendError } : {}),
    startedAt,
    lastSendAt,
    completed: progress.completed,
    ...(incomplete ? { incomplete } : {}),
  };
}
