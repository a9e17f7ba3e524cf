import { createHash } from 'node:crypto';

/**
 * The channel session's key for a reply channel: `chn` + the first 29 hex digits of its SHA-1,
 * as Channels does, so the raw reply channel name never reaches the session store.
 */
export function channelSessionKey(replyChannel: string): string {
  return `chn${createHash('sha1').update(replyChannel, 'utf8').digest('hex').slice(0, 29)}`;
}
