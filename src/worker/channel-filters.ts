import { globToRegExp } from '../layers/names';

/** Applies `onlyChannels` (keep if any glob matches) then `excludeChannels` (drop if any matches). */
export function filterChannels(
  channels: readonly string[],
  onlyChannels: readonly string[] = [],
  excludeChannels: readonly string[] = [],
): string[] {
  const only = onlyChannels.map(globToRegExp);
  const exclude = excludeChannels.map(globToRegExp);
  return channels.filter(
    (channel) =>
      (only.length === 0 || only.some((glob) => glob.test(channel))) && !exclude.some((glob) => glob.test(channel)),
  );
}
