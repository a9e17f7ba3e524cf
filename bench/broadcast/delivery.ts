// Counts one client process's deliveries: per-frame latency, frames per socket, and how far every
// socket has got (the closed loop's feedback). O(1) per frame, whatever the number of sockets.
import { Samples } from '../stats';

export class DeliveryTracker {
  delivered = 0;
  duplicates = 0;
  /** wallMs of the last delivered frame. */
  lastAt = 0;
  /** Sends (0-based from firstN) that every socket has received or skipped past: contiguous from 0. */
  completed = 0;
  latencies = new Samples();
  private recording = false;
  private firstN = 0;
  /** Per socket: the highest send index it has seen, -1 for none. */
  private last: Int32Array;
  /** Per send index: how many sockets have seen it or a later one (a lost frame is skipped past). */
  private passed = new Int32Array(1024);
  /** Called when `completed` grows. */
  onProgress: (() => void) | undefined;

  constructor(private readonly sockets: number) {
    this.last = new Int32Array(sockets).fill(-1);
  }

  /** Starts counting afresh; frames with n below firstN (the warm-up's) are ignored from now on. */
  record(firstN: number): void {
    this.recording = true;
    this.firstN = firstN;
    this.delivered = this.duplicates = this.lastAt = this.completed = 0;
    this.latencies = new Samples();
    this.last.fill(-1);
    this.passed.fill(0);
  }

  stop(): void {
    this.recording = false;
  }

  /** A frame `n` sent at `t` arrived on socket `socket` at `now` (all wallMs). */
  receive(socket: number, n: number, t: number, now: number): void {
    const index = n - this.firstN;
    if (!this.recording || index < 0) return;
    const seen = this.last[socket];
    if (index <= seen) {
      this.duplicates++;
      return;
    }
    if (index >= this.passed.length) this.grow(index);
    for (let i = seen + 1; i <= index; i++) this.passed[i]++;
    this.last[socket] = index;
    this.delivered++;
    this.latencies.add(now - t);
    this.lastAt = now;
    const before = this.completed;
    while (this.sockets > 0 && this.passed[this.completed] === this.sockets) this.completed++;
    if (this.completed !== before) this.onProgress?.();
  }

  private grow(index: number): void {
    let size = this.passed.length;
    while (size <= index) size *= 2;
    const grown = new Int32Array(size);
    grown.set(this.passed);
    this.passed = grown;
  }
}
