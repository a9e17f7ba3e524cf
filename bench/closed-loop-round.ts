// What one closed-loop round (runRound in layer-send-receive.ts) is asked to do and what it reports:
// in a file of its own because the targets (a RemoteLoad runs rounds in a helper process) and the
// round loop, which drives a target's endpoints, both need them.
import type { CpuTime } from './stats';

export interface RoundSettings {
  inFlight: number;
  warmupMs: number;
  measureMs: number;
  /** A blocking receive that waits this long with messages in flight fails the scenario. */
  receiveTimeoutSeconds: number;
}

export interface RoundResult {
  /** Messages received inside the measured window. */
  messages: number;
  /** CPU use inside the window (its `wallMs` is the window's length). */
  cpu: CpuTime;
  /** Messages sent over the whole round (warm-up, window and drain); all were received. */
  totalMessages: number;
}
