import type { ChannelLayer } from '../layers/channel-layer';
import type { ChannelMessage } from '../layers/channel-message';

export interface GetNextMessageOptions {
  /** Throw when no message arrives instead of resolving `null`. Default false. */
  require?: boolean;
  /** Seconds to wait for a message. Default 0 (look once, do not wait). */
  timeout?: number;
}

/** The next message on `channel` (a `prefix!` for process channels), or null; `require` throws instead. */
export async function getNextMessage(
  layer: ChannelLayer,
  channel: string,
  options: GetNextMessageOptions = {},
): Promise<{ channel: string; content: ChannelMessage } | null> {
  const timeout = options.timeout ?? 0;
  const [name, content] = await layer.receive([channel], { block: timeout > 0, timeout });
  if (name === null) {
    if (options.require) throw new Error(`Expected a message on channel "${channel}" but there was none`);
    return null;
  }
  return { channel: name, content };
}
