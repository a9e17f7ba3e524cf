import { Logger } from '@nestjs/common';
import type { Message } from '../channels/message';
import { sendOrHold } from '../channels/outbound-buffer';
import { ChannelFull } from '../layers/errors';
import type { ChannelMessage } from '../layers/channel-message';
import type { ChannelSessionState } from './channel-session';

/** Where the channel session keeps the next `order` to run. */
export const NEXT_ORDER_KEY = '__channels_next_order';
const ORIGINAL_CHANNEL_KEY = 'original_channel';
const logger = new Logger('EnforceOrdering');

/** `__wait__.` + the reply channel with `!` as `?`: a channel only one process reads, like the reply channel. */
export function waitChannelOf(replyChannel: string): string {
  return `__wait__.${replyChannel.replaceAll('!', '?')}`;
}

function orderOf(message: Message): number {
  const order = Number(message.content.order);
  if (message.content.order === undefined || !Number.isInteger(order) || order < 0) {
    throw new TypeError(`@EnforceOrdering() needs an integer "order" in the message on ${message.channel.name}`);
  }
  return order;
}

/**
 * The first order to expect when nothing is stored yet: 0, as in Channels, except for a frame of
 * order 1 or later. The interface only sends frames after the connect consumer accepted, so a
 * frame's connection has had its connect (order 0): an unordered connect consumer does not stall
 * the connection (it did in Channels). A frame of order 0 (a connection with no connect message,
 * as Channels' own tests send) is the first.
 */
function firstOrder(message: Message, order: number): number {
  return message.channel.name === 'websocket.connect' || order === 0 ? 0 : 1;
}

/**
 * Sends every parked message of the connection back to its channel; those still early park again.
 * The sends are held like the consumer's own, so the next frame runs after this one's replies left.
 */
async function requeueParked(message: Message, waitChannel: string): Promise<void> {
  const layer = message.channelLayer;
  for (;;) {
    const [channel, parked] = await layer.receive([waitChannel]);
    if (channel === null) return;
    const { [ORIGINAL_CHANNEL_KEY]: original, ...content } = parked;
    if (typeof original !== 'string') continue;
    await sendOrHold(original, 'channel', content, false, (held) => layer.send(original, held));
  }
}

/**
 * Runs `run` when the message's turn has come; otherwise parks it on the wait channel. After an
 * in-order message, the next order is saved and everything parked is sent back. Runs with the
 * connection's channel session loaded.
 */
export async function runInOrder(
  message: Message,
  session: ChannelSessionState,
  run: () => Promise<unknown>,
): Promise<void> {
  const replyChannel = message.replyChannel;
  if (!replyChannel) throw new TypeError(`@EnforceOrdering() needs a reply_channel on ${message.channel.name}`);
  const order = orderOf(message);
  const next = session.get<number>(NEXT_ORDER_KEY) ?? firstOrder(message, order);
  const waitChannel = waitChannelOf(replyChannel.name);
  if (order < next) {
    logger.warn(`Dropped a message of order ${order} on ${message.channel.name}: order ${next} is next (a duplicate?)`);
    return;
  }
  if (order > next) {
    const parked: ChannelMessage = { ...message.content, [ORIGINAL_CHANNEL_KEY]: message.channel.name };
    try {
      await message.channelLayer.send(waitChannel, parked);
    } catch (error) {
      if (error instanceof ChannelFull) {
        throw new ChannelFull(`${waitChannel} (too many messages waiting for their turn on ${replyChannel.name})`);
      }
      throw error;
    }
    // Its turn may have come while it was being parked: then nobody else will send it back.
    await session.load();
    if ((session.get<number>(NEXT_ORDER_KEY) ?? firstOrder(message, order)) === order)
      await requeueParked(message, waitChannel);
    return;
  }
  try {
    await run();
  } finally {
    // Even when the consumer threw: one failed frame must not stall the connection (Channels' did).
    session.set(NEXT_ORDER_KEY, order + 1);
    await session.save();
    await requeueParked(message, waitChannel);
  }
}
