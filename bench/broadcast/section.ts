// `npm run bench -- --only broadcast`: group broadcast to 1,000 and 10,000 sockets through
// nestjs-channels on Redis, beside Socket.IO with its Redis adapter, measured in the same run.
import type { BenchSection, SectionResult } from '../bench-section';
import { connect, disconnect } from '../targets';
import { stopAllHelpers } from './processes';
import { addRatios, evaluateGoals, formatBroadcast, FRAMES_GOAL } from './report';
import { runSize, type RunRow } from './scenario';
import { settingsFromEnv } from './settings';

async function run(redisUrl: string): Promise<SectionResult> {
  const settings = settingsFromEnv();
  const admin = connect(redisUrl);
  // The helpers also exit when this process dies (their IPC channel closes); this is the orderly path.
  const onSignal = (): void => void stopAllHelpers();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: RunRow[] = [];
  try {
    for (const sockets of settings.sizes) rows.push(...(await runSize(sockets, redisUrl, admin, settings)));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAllHelpers();
    await disconnect(admin);
  }
  addRatios(rows);
  const goals = evaluateGoals(rows, settings.sizes);
  return {
    text: formatBroadcast(rows, goals, settings),
    json: {
      settings,
      goal: { framesVsSocketIo: FRAMES_GOAL, framesVsSocketIoEngineIoClient: FRAMES_GOAL },
      scenarios: rows,
      goals,
    },
    failed: rows.filter((row) => row.error !== undefined).length,
  };
}

export const broadcastSection: BenchSection = {
  name: 'broadcast',
  describe: 'group broadcast to 1k and 10k sockets over Redis, beside Socket.IO and its Redis adapter',
  run,
};
