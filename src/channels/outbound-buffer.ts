import { AsyncLocalStorage } from 'node:async_hooks';
import { copyMessage, type ChannelMessage } from '../layers/channel-message';

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
export const outboundBuffer = new AsyncLocalStorage<OutboundBuffer>();

/** The sends a running consumer holds; closed when it finishes. */
interface OutboundBuffer {
  sends: PendingSend[];
  /**
   * Timers and callbacks a consumer starts inherit its async context: once the consumer has
   * finished, their sends must go out at once instead of into a buffer nobody will flush again.
   */
  open: boolean;
}

/** Runs `work` with a fresh buffer; returns its result and the sends it held. */
export async function withOutboundBuffer<T>(
  work: () => Promise<T>,
): Promise<{ result?: T; error?: unknown; pending: PendingSend[] }> {
  const buffer: OutboundBuffer = { sends: [], open: true };
  try {
    const result = await outboundBuffer.run(buffer, work);
    return { result, pending: buffer.sends };
  } catch (error) {
    return { error, pending: buffer.sends };
  } finally {
    buffer.open = false;
  }
}

/**
 * Sends now outside consumers (the layer checks and copies the content), or holds a snapshot
 * until the running consumer finishes: copied now, so bad values fail at the call and later
 * changes to the content do not leak into what is sent.
 */
export function sendOrHold(
  target: string,
  kind: PendingSend['kind'],
  content: ChannelMessage,
  immediately: boolean | undefined,
  send: (content: ChannelMessage) => Promise<void>,
): Promise<void> {
  const buffer = immediately ? undefined : outboundBuffer.getStore();
  if (!buffer?.open) return send(content);
  const { copy } = copyMessage(content);
  buffer.sends.push({ target, kind, content: copy, send: () => send(copy) });
  return Promise.resolve();
}
