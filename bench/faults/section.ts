// `npm run bench -- --only faults`: what one client's abuse, and Redis failing, do to everyone else.
//   1. one socket floods beside 50 echoing bystanders (in-memory and Redis layers);
//   2. 50 requests with 10 MiB bodies nobody reads (in-memory and Redis layers);
//   3. a 50-user chat on Redis while redis-server is stopped (SIGSTOP) for 5 s;
//   4. the same chat while redis-server is killed and restarted empty.
// Every app runs in a process of its own; every process started (helpers, the chat's own
// redis-servers) is stopped at the end, on a failure and on Ctrl-C.
import type { BenchSection, SectionResult } from '../bench-section';
import { stopAllServers } from '../servers';
import { BODY_SETTINGS, runBodies, type BodyOutcome } from './bodies';
import { CHAT_SETTINGS, releaseOwnRedis, runChat, type ChatOutcome } from './chat';
import { FLOOD_SETTINGS, runFlood, type FloodOutcome } from './flood';
import { evaluateGoals, formatBodies, formatChat, formatFlood } from './report';

const SCENARIOS = ['flood', 'bodies', 'stall', 'restart'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

/** BENCH_FAULTS=flood,bodies,stall,restart runs some of the scenarios (default all). */
function selected(value: string | undefined): Set<ScenarioName> {
  if (!value) return new Set(SCENARIOS);
  const names = value.split(',').filter(Boolean);
  const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`BENCH_FAULTS takes a comma-separated list of ${SCENARIOS.join(', ')}; got "${value}"`);
  }
  return new Set(names as ScenarioName[]);
}

async function run(redisUrl: string): Promise<SectionResult> {
  const wanted = selected(process.env.BENCH_FAULTS);
  // A redis-server stopped with SIGSTOP would not even hear SIGTERM: continue it, then stop it.
  const onSignal = (): void => void Promise.allSettled([releaseOwnRedis(), stopAllServers()]);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const flood: FloodOutcome[] = [];
  const bodies: BodyOutcome[] = [];
  const chat: ChatOutcome[] = [];
  try {
    if (wanted.has('flood'))
      for (const layer of ['in-memory', 'redis'] as const) flood.push(await runFlood(layer, redisUrl));
    if (wanted.has('bodies'))
      for (const layer of ['in-memory', 'redis'] as const) bodies.push(await runBodies(layer, redisUrl));
    if (wanted.has('stall')) chat.push(await runChat('stall'));
    if (wanted.has('restart')) chat.push(await runChat('restart'));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await releaseOwnRedis();
    await stopAllServers();
  }
  const goals = evaluateGoals(flood, bodies, chat);
  const text = [
    ...(flood.length > 0 ? [formatFlood(flood)] : []),
    ...(bodies.length > 0 ? [formatBodies(bodies)] : []),
    ...(chat.length > 0 ? [formatChat(chat)] : []),
  ].join('\n\n');
  return {
    text,
    json: {
      settings: { flood: FLOOD_SETTINGS, bodies: BODY_SETTINGS, chat: CHAT_SETTINGS },
      flood,
      bodies,
      chat,
      goals,
    },
    failed: [...flood, ...bodies, ...chat].filter((outcome) => outcome.error !== undefined).length,
  };
}

export const faultsSection: BenchSection = {
  name: 'faults',
  describe:
    'one flooding socket beside 50 bystanders, 50 unread 10 MiB bodies, a 50-user chat through a Redis stall and restart',
  run,
};
