// The helper processes of one broadcast scenario (servers and clients): started together, every
// request bounded by a deadline, and all of them stopped at the end, on failure and on signals.
import { join } from 'node:path';
import { startBenchChild } from '../child-process';
import { HelperProcess } from '../helper-process';
import type { ClientRequest, ServerRequest } from './protocol';

const SERVER_SCRIPT = join('bench', 'broadcast', 'server.ts');
const CLIENT_SCRIPT = join('bench', 'broadcast', 'client.ts');

export type ServerKind = 'channels-interface' | 'channels-worker' | 'socket.io';

/** A server or client helper of this section. */
export type Helper = HelperProcess<ClientRequest | ServerRequest>;

const running = new Set<Helper>();

async function start(label: string, script: string, args: readonly string[]): Promise<Helper> {
  const helper: Helper = new HelperProcess(label, await startBenchChild(script, args));
  running.add(helper);
  return helper;
}

export function startServer(label: string, kind: ServerKind, port: number, redisUrl: string): Promise<Helper> {
  return start(label, SERVER_SCRIPT, [kind, String(port), redisUrl]);
}

export function startClient(label: string): Promise<Helper> {
  return start(label, CLIENT_SCRIPT, []);
}

/** Helpers starting at once: each start compiles TypeScript and boots Nest, CPU-bound on a small machine. */
const START_CONCURRENCY = 2;

/**
 * Starts every helper in `plan`, two at a time (so a busy machine does not push a start past its
 * 30 s limit); if any fails, the others are stopped and its error is thrown, so a scenario has
 * all its processes or none.
 */
export async function startAll(plan: ReadonlyArray<() => Promise<Helper>>): Promise<Helper[]> {
  const results: Array<PromiseSettledResult<Helper>> = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < plan.length && !results.some((r) => r?.status === 'rejected')) {
      const i = next++;
      results[i] = await plan[i]().then(
        (value): PromiseFulfilledResult<Helper> => ({ status: 'fulfilled', value }),
        (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason }),
      );
    }
  };
  await Promise.all(Array.from({ length: START_CONCURRENCY }, lane));
  const started = results.flatMap((r) => (r?.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r?.status === 'rejected');
  if (failure || started.length !== plan.length) {
    await stopHelpers(started);
    throw failure?.reason ?? new Error('a helper did not start');
  }
  return started;
}

export async function stopHelpers(helpers: readonly Helper[]): Promise<void> {
  await Promise.allSettled(
    helpers.map(async (helper) => {
      running.delete(helper);
      await helper.stop();
    }),
  );
}

/** Stops every helper still running (the section's finally, and signals). */
export function stopAllHelpers(): Promise<void> {
  return stopHelpers([...running]);
}
