import type { ChannelLayer } from '../../layers/channel-layer';

/** First and longest wait between two looks at a channel this process keeps at its target. */
const FIRST_LOOK_MS = 1;
const LAST_LOOK_MS = 20;

interface Occupancy {
  /** Sends that reached the channel, and those on their way. */
  landed: number;
  inFlight: number;
  /** Of the landed ones, how many have left the channel (read or expired), as far as we know. */
  left: number;
  /** A look at the channel is out or due. */
  watching: boolean;
  delay: number;
  /** The next look, when one is waiting for its time. */
  timer: NodeJS.Timeout | undefined;
}

/** What the FairSender hears about a channel it keeps at its target. */
export interface OccupancyListener {
  /** The channel has room under the target again. */
  room(channel: string): void;
  /**
   * It is still at the target after a look: queues that waited too long may give up. Returns
   * whether anyone still waits for the channel (if not, the looks stop).
   */
  stillFull(channel: string): boolean;
}

/**
 * How many of this process's messages sit unread in each channel it sends to: the ones it sent
 * minus the ones the layer no longer holds. Keeping that at most `target` keeps the line short for
 * everyone: a newcomer's message waits behind at most `target` of ours, however many one flooding
 * sender has queued (the rest wait in their own queues, where their turn comes fairly), and a
 * lone sender that keeps fewer than `target` in flight is never held back. The count is checked
 * against the layer's `messages_pending` only while a channel is at the target: one look, then a
 * growing wait (1 → 20 ms), never a look per message. Layers without statistics are not held back.
 */
export class ChannelOccupancy {
  private readonly channels = new Map<string, Occupancy>();
  private nudged = false;
  /** Channels being watched now: with none (the usual case), a nudge costs nothing. */
  private watched = 0;

  constructor(
    private readonly layer: ChannelLayer,
    private readonly target: number,
    private readonly listener: OccupancyListener,
  ) {}

  /** Whether this process already has `target` messages unread in `channel`. */
  full(channel: string): boolean {
    if (!this.layer.channelStatistics) return false;
    const state = this.channels.get(channel);
    return state !== undefined && state.landed + state.inFlight - state.left >= this.target;
  }

  /** How many more of this process's messages `channel` takes before it is at the target (Infinity: no limit). */
  room(channel: string): number {
    if (!this.layer.channelStatistics) return Infinity;
    const state = this.channels.get(channel);
    return state === undefined ? this.target : this.target - (state.landed + state.inFlight - state.left);
  }

  started(channel: string): void {
    this.state(channel).inFlight++;
  }

  landed(channel: string): void {
    const state = this.state(channel);
    state.inFlight--;
    state.landed++;
  }

  failed(channel: string): void {
    this.state(channel).inFlight--;
  }

  /** Looks at the channel until it has room under the target, then tells the listener. */
  watch(channel: string): void {
    const state = this.state(channel);
    if (state.watching) return;
    state.watching = true;
    this.watched++;
    state.delay = FIRST_LOOK_MS;
    void this.look(channel, state);
  }

  private async look(channel: string, state: Occupancy): Promise<void> {
    try {
      const pending = (await this.layer.channelStatistics!(channel)).messages_pending;
      if (typeof pending === 'number') state.left = Math.max(state.left, state.landed - pending);
    } catch {
      // No answer this time (an outage): look again later.
    }
    if (!this.full(channel)) {
      state.watching = false;
      this.watched--;
      this.listener.room(channel);
      return;
    }
    if (!this.listener.stillFull(channel)) {
      // Nobody waits any more: the next message for the channel starts the looks again.
      state.watching = false;
      this.watched--;
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.look(channel, state);
    }, state.delay);
    state.timer.unref();
    state.delay = Math.min(state.delay * 2, LAST_LOOK_MS);
  }

  /**
   * A hint that messages were probably read (a reply came back from a worker): channels waiting
   * for their next look are looked at now, once for any number of hints in the same tick.
   */
  nudge(): void {
    if (this.nudged || this.watched === 0) return;
    this.nudged = true;
    setImmediate(() => {
      this.nudged = false;
      for (const [channel, state] of this.channels) {
        if (state.timer === undefined) continue;
        clearTimeout(state.timer);
        state.timer = undefined;
        void this.look(channel, state);
      }
    });
  }

  private state(channel: string): Occupancy {
    let state = this.channels.get(channel);
    if (!state) {
      state = { landed: 0, inFlight: 0, left: 0, watching: false, delay: FIRST_LOOK_MS, timer: undefined };
      this.channels.set(channel, state);
    }
    return state;
  }
}
