import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChannelMessage } from '../layers/message';

/** One held send: to a channel or to a group, on a layer. */
export interface PendingSend {
  target: string;
  kind: 'channel' | 'group';
  content: ChannelMessage;
  send(): Promise<void>;
}

/**
 * Consumer atomicity: while a consumer runs, `Channel.send` and `Group.send` are held here and
 * sent, in order, when it finishes (also when it throws). AsyncLocalStorage makes "inside a
 * consumer" follow the consumer's async calls, and nothing else.
 */
export const outboundBuffer = new AsyncLocalStorage<PendingSend[]>();

/** Runs `work` with a fresh buffer; returns its result and the sends it held. */
export async function withOutboundBuffer<T>(
  work: () => Promise<T>,
): Promise<{ result?: T; error?: unknown; pending: PendingSend[] }> {
  const pending: PendingSend[] = [];
  try {
    const result = await outboundBuffer.run(pending, work);
    return { result, pending };
  } catch (error) {
    return { error, pending };
  }
}

/** Holds `send` if a consumer is running, else runs it now. */
export function sendOrHold(send: PendingSend, immediately: boolean | undefined): Promise<void> {
  const pending = immediately ? undefined : outboundBuffer.getStore();
  if (!pending) return send.send();
  pending.push(send);
  return Promise.resolve();
}
