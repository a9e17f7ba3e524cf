// Who sends the broadcasts, as an app would: nestjs-channels with `new Group('bc', layer).send()`
// from a layer in the bench process; Socket.IO with `io.to('bc').emit()` in one of its servers
// (asked over IPC), whose Redis adapter forwards it to the other.
import { Group, RedisChannelLayer } from '../../src';
import { BROADCAST_CAPACITY, BROADCAST_PREFIX } from './app';
import type { Sender } from './drive';
import type { Helper } from './processes';
import { GROUP, sleepUntil, wallMs, type EmittedReply, type PacedReply } from './protocol';

const EMIT_TIMEOUT_MS = 5000;
const PACE_GRACE_MS = 30_000;

export interface ChannelsSender extends Sender {
  /** The group's members, as Redis has them. */
  members(): Promise<number>;
  /** Drops whatever members are left (sockets of an earlier run that never said goodbye). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export function channelsSender(redisUrl: string): ChannelsSender {
  const layer = new RedisChannelLayer({ hosts: [redisUrl], prefix: BROADCAST_PREFIX, capacity: BROADCAST_CAPACITY });
  const group = new Group(GROUP, layer);
  // The payload the issue names: a text frame with the send's number and time.
  const send = (n: number, t: number): Promise<void> => group.send({ text: JSON.stringify({ n, t }) });
  return {
    send,
    pace: async (firstN, count, intervalMs, startAt) => {
      // Each send leaves when due, whether or not the previous ones have been answered.
      const pending: Array<Promise<void>> = [];
      let errors = 0;
      let firstError: string | undefined;
      for (let i = 0; i < count; i++) {
        const due = startAt + i * intervalMs;
        await sleepUntil(due);
        pending.push(
          send(firstN + i, due).catch((error: unknown) => {
            errors++;
            firstError ??= error instanceof Error ? error.message : String(error);
          }),
        );
      }
      await Promise.all(pending); // bounded: the layer's sends fail after two retries
      return { sent: count, errors, ...(firstError ? { firstError } : {}) };
    },
    members: async () => (await group.channels()).length,
    clear: async () => {
      for (const channel of await group.channels()) await group.discard(channel);
    },
    close: () => layer.close(),
  };
}

/** `emitter` is the Socket.IO server process that emits; it stamps `t` itself. */
export function socketIoSender(emitter: Helper): Sender {
  return {
    send: async (n, t) => {
      await emitter.request<EmittedReply>({ type: 'emit', n, t }, 'emitted', EMIT_TIMEOUT_MS);
    },
    // Paced in the emitting server itself, so the schedule never waits on an IPC round trip.
    pace: async (firstN, count, intervalMs, startAt) => {
      // The server answers once its last emit has gone out: a server behind its schedule (10,000
      // sockets beside two other systems' on a 2-core machine) gets the drain's 30 s to catch up.
      const timeout = startAt - wallMs() + count * intervalMs + PACE_GRACE_MS;
      const { sent } = await emitter.request<PacedReply>(
        { type: 'pace', firstN, count, intervalMs, startAt },
        'paced',
        timeout,
      );
      return { sent, errors: 0 };
    },
  };
}
