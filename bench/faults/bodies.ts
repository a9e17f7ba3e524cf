// Scenario 2: 50 requests with 10 MiB bodies nobody reads. The app (bench/faults/app.ts body-*, in
// a process of its own, --expose-gc) routes POST /unread to a consumer that takes the http.request
// and does nothing: the body channel is never read and no answer comes, so each request ends with
// the interface's 503 after interface.http.timeout (5 s). The bench streams the 50 bodies at once
// from one shared 64 KiB buffer (so the client holds no bodies), each as fast as its socket takes
// it, and keeps every request open until its answer, while it samples the app's RSS (/proc, every
// 100 ms) and, on Redis, used_memory.
import { Agent, request as httpRequest } from 'node:http';
import type Redis from 'ioredis';
import { describe, sleep, withDeadline } from '../connections/waits';
import { connect, disconnect } from '../targets';
import { counterDelta, rssBytes, startApp, type AppProcess } from './helpers';
import { READ_PATH, UNREAD_PATH, type MemoryPeaks, type WatchingReply } from './protocol';

const MIB = 1024 * 1024;
export const BODY_SETTINGS = {
  requests: 50,
  bodyBytes: 10 * MIB,
  /** Growth of the app's RSS over its baseline allowed by the goal. */
  goalGrowthBytes: 64 * MIB,
  sampleMs: 100,
  /** Warm-up: requests whose bodies the app reads (the body path's code and buffers come once). */
  warmupRequests: 4,
  warmupBodyBytes: 2 * MIB,
  /** After the last answer: RSS is read again this much later. */
  settleMs: 1000,
};
const WRITE_CHUNK = Buffer.alloc(64 * 1024, 0x61);
const RUN_DEADLINE_MS = 60_000;

export type BodyLayer = 'in-memory' | 'redis';

export interface BodyOutcome {
  layer: BodyLayer;
  error?: string;
  requests?: number;
  bodyBytes?: number;
  /** RSS of the app after the warm-up and 3 forced full GCs, bytes; its external memory (Buffers among it) then. */
  baselineRss?: number;
  baselineExternal?: number;
  /** RSS just before the requests (no GC). */
  startRss?: number;
  /** Highest RSS sampled while the requests ran. */
  peakRss?: number;
  /** peakRss − baselineRss; goal ≤ 64 MiB. */
  growth?: number;
  goalMet?: boolean;
  /** RSS 1 s after the last answer, as is and after forced GCs. */
  afterRss?: number;
  afterRssGc?: number;
  /** What the client saw: statuses, or the error code of a request whose answer it did not read. */
  statuses?: Record<string, number>;
  /** What the interface answered (its 503, 408, 413, 429 counters): every request, whatever the client read. */
  serverAnswers?: Record<string, number>;
  /** First request sent → last answer, ms. */
  durationMs?: number;
  /** Body bytes the client got into its sockets, all requests. */
  bytesWritten?: number;
  /** Highest httpBodyBytesHeld the app saw (sampled every 10 ms in the app). */
  bodyBytesHeldPeak?: number;
  /** Highest process.memoryUsage() figures the app saw (each at its own moment): where the growth is. */
  memoryPeaks?: MemoryPeaks;
  /** Interface counters that moved (httpRefused503 …). */
  counters?: Record<string, number>;
  /** redis-server used_memory: before, highest sampled, 1 s after the last answer (Redis only). */
  redisMemory?: { baseline: number; peak: number; after: number; growth: number };
}

interface Answer {
  status: string;
  at: number;
  written: number;
}

/** POSTs `bytes` of body to `path`, streamed from one shared buffer; resolves with the status once answered. */
function post(agent: Agent, url: string, path: string, bytes: number): Promise<Answer> {
  return new Promise((resolve) => {
    let written = 0;
    let answered = false;
    /** The answer has begun: the rest of the body is not sent. */
    let stopped = false;
    const request = httpRequest(`${url}${path}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    });
    const finish = (status: string): void => {
      if (answered) return;
      answered = true;
      resolve({ status, at: performance.now(), written });
    };
    request.once('response', (response) => {
      stopped = true;
      const status = String(response.statusCode);
      response.resume();
      response.once('end', () => {
        finish(status);
        // The rest of the body is not wanted any more: stop sending it.
        request.destroy();
      });
      response.once('error', () => finish(status));
    });
    // The server may close the connection once it has answered, while the body is still being
    // written: the write then fails (EPIPE, ECONNRESET) and the answer may go unread.
    request.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    const pump = (): void => {
      while (!stopped && !answered && written < bytes) {
        const chunk = bytes - written >= WRITE_CHUNK.length ? WRITE_CHUNK : WRITE_CHUNK.subarray(0, bytes - written);
        written += chunk.length;
        if (written >= bytes) {
          request.end(chunk);
          return;
        }
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

async function usedMemory(admin: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1]);
}

/** Samples a value every `ms` until stopped; keeps the highest. */
function sampler(read: () => Promise<number> | number, ms: number): { stop(): Promise<number> } {
  let peak = -Infinity;
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = await read();
      if (Number.isFinite(value)) peak = Math.max(peak, value);
      await sleep(ms);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function run(layer: BodyLayer, redisUrl: string): Promise<BodyOutcome> {
  const app: AppProcess = await startApp(layer === 'in-memory' ? 'body-memory' : 'body-redis', redisUrl, {
    exposeGc: true,
  });
  const admin = layer === 'redis' ? connect(redisUrl) : undefined;
  // Every request on a connection of its own, as 50 clients would have.
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const warm = await Promise.all(
      Array.from({ length: BODY_SETTINGS.warmupRequests }, () =>
        post(agent, app.httpUrl, READ_PATH, BODY_SETTINGS.warmupBodyBytes),
      ),
    );
    const refused = warm.find((answer) => answer.status !== '200');
    if (refused) throw new Error(`a warm-up request was answered ${refused.status}`);
    await sleep(BODY_SETTINGS.settleMs);
    const baseline = await app.memory();
    const before = await app.statistics();
    await app.request<WatchingReply>({ type: 'watch-body-bytes' }, 'watching');
    const redisBaseline = admin ? await usedMemory(admin) : undefined;
    const startRss = rssBytes(app.pid);

    const rss = sampler(() => rssBytes(app.pid), BODY_SETTINGS.sampleMs);
    const redisPeak = admin ? sampler(() => usedMemory(admin), BODY_SETTINGS.sampleMs) : undefined;
    const started = performance.now();
    let answers: Answer[];
    try {
      answers = await Promise.all(
        Array.from({ length: BODY_SETTINGS.requests }, () =>
          post(agent, app.httpUrl, UNREAD_PATH, BODY_SETTINGS.bodyBytes),
        ),
      );
    } finally {
      agent.destroy();
    }
    const lastAnswer = Math.max(...answers.map((answer) => answer.at));
    await sleep(BODY_SETTINGS.settleMs);
    const peakRss = Math.max(await rss.stop(), startRss);
    const redisTop = await redisPeak?.stop();
    const afterRss = rssBytes(app.pid);
    const redisAfter = admin ? await usedMemory(admin) : undefined;
    const after = await app.statistics();
    const afterGc = await app.memory();

    const statuses: Record<string, number> = {};
    for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const growth = peakRss - baseline.rss;
    const counters = counterDelta(before.interface, after.interface);
    const serverAnswers: Record<string, number> = {};
    for (const status of ['503', '429', '413', '408']) {
      const count = counters[`httpRefused${status}`];
      if (count) serverAnswers[status] = count;
    }
    return {
      layer,
      requests: BODY_SETTINGS.requests,
      bodyBytes: BODY_SETTINGS.bodyBytes,
      baselineRss: baseline.rss,
      baselineExternal: baseline.external,
      startRss,
      peakRss,
      growth,
      goalMet: growth <= BODY_SETTINGS.goalGrowthBytes,
      afterRss,
      afterRssGc: afterGc.rss,
      statuses,
      serverAnswers,
      durationMs: lastAnswer - started,
      bytesWritten: answers.reduce((sum, answer) => sum + answer.written, 0),
      bodyBytesHeldPeak: after.bodyBytesHeldPeak,
      ...(after.memoryPeaks ? { memoryPeaks: after.memoryPeaks } : {}),
      counters,
      ...(redisBaseline !== undefined && redisTop !== undefined && redisAfter !== undefined
        ? {
            redisMemory: {
              baseline: redisBaseline,
              peak: Math.max(redisTop, redisBaseline),
              after: redisAfter,
              growth: Math.max(redisTop, redisBaseline) - redisBaseline,
            },
          }
        : {}),
    };
  } finally {
    agent.destroy();
    if (admin) await disconnect(admin);
    await app.stop();
  }
}

/** Runs the unread-bodies scenario on one layer; a failure is reported in the outcome. */
export async function runBodies(layer: BodyLayer, redisUrl: string): Promise<BodyOutcome> {
  process.stderr.write(`faults: unread bodies, ${layer}\n`);
  try {
    return await withDeadline(run(layer, redisUrl), RUN_DEADLINE_MS, `the unread-bodies scenario (${layer})`);
  } catch (error) {
    process.stderr.write(`faults: unread bodies, ${layer} FAILED: ${describe(error)}\n`);
    return { layer, error: describe(error) };
  }
}
