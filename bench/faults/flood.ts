// Scenario 1: one client floods, 50 bystanders echo. An echo app (bench/faults/app.ts echo-*) in a
// process of its own; 50 bystander sockets in the bench process, each a closed loop of one echo in
// flight; the flooder in a helper process (bench/faults/flooder.ts). Three phases on the same app
// and bystanders: the bystanders alone (the reference); one socket flooding as fast as it can
// write (closed or not, it is not replaced); the flooder opening a new socket each time the server
// closes one, so the whole phase is under flood.
import WebSocket from 'ws';
import { describe, sleep, withDeadline } from '../connections/waits';
import { cpuShare } from '../format';
import { parseServerCpuSeconds } from '../redis-stats';
import { Samples, startCpuMeter, type LatencySummary } from '../stats';
import { connect, disconnect } from '../targets';
import { counterDelta, startApp, startScript, type AppProcess, type Helper } from './helpers';
import type { FloodReport, FloodStartedReply } from './protocol';

export const FLOOD_SETTINGS = {
  bystanders: 50,
  warmupMs: 1000,
  phaseMs: 5000,
  /** Between the flood phases. */
  pauseMs: 1000,
  framesPerWrite: 3000,
};
const OPEN_TIMEOUT_MS = 10_000;
/** The phases' timelines count echoes per slice of this length. */
const SLICE_MS = 500;

export type FloodLayer = 'in-memory' | 'redis';

export type PhaseName = 'without flood' | 'one flooding socket' | 'flooder reopening';

export interface PhaseFigures {
  phase: PhaseName;
  echoes: number;
  echoesPerSecond: number;
  /** Round trips of the bystanders, ms. */
  latencyMs: LatencySummary;
  /** The longest a bystander waited for an echo: the slowest round trip, or an echo still awaited at the phase's end. */
  longestWaitMs: number;
  /** Echoes completed in each 500 ms of the phase. */
  echoesPerSlice: number[];
  /**
   * CPU over the phase, % of one core: the app, the bench process (the bystanders), the flooder,
   * redis-server (Redis layer), the machine (2 cores: 200%), what is left (others), hypervisor steal.
   */
  cpu: { app: number; bench: number; flooder: number; redis?: number; machine: number; others: number; steal: number };
  /** Interface counters that moved during the phase (pauses, 1013 closes, dropped frames…). */
  counters: Record<string, number>;
  /** The flooder's own account (flood phases). */
  flooder?: FloodReport;
  /** p99 ÷ the p99 without flood, echoes/s ÷ those without flood. */
  p99Ratio?: number;
  rateRatio?: number;
}

export interface FloodOutcome {
  layer: FloodLayer;
  error?: string;
  phases?: PhaseFigures[];
  /** Bystander sockets the server closed (or that failed) over all phases; goal 0. */
  bystandersClosed?: number;
  bystanderCloseCodes?: number[];
}

/** A phase's round trips, and how many ended in each slice of the phase (to see when a flood hurt). */
class Recorder {
  readonly samples = new Samples();
  readonly startedAt = performance.now();
  readonly slices: number[] = [];

  add(now: number, latency: number): void {
    this.samples.add(latency);
    const slice = Math.floor((now - this.startedAt) / SLICE_MS);
    while (this.slices.length <= slice) this.slices.push(0);
    this.slices[slice]++;
  }
}

/** A bystander: one echo in flight at a time, round trips recorded while `recording`. */
class Bystander {
  private n = 0;
  private sentAt = 0;
  private waiting = false;
  closedCode: number | undefined;
  private stopping = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly phase: () => Recorder | undefined,
  ) {
    socket.on('message', () => {
      const now = performance.now();
      this.waiting = false;
      this.phase()?.add(now, now - this.sentAt);
      this.next();
    });
    socket.once('close', (code: number) => {
      if (!this.stopping) this.closedCode = code;
    });
    socket.on('error', () => undefined);
  }

  static open(url: string, phase: () => Recorder | undefined): Promise<Bystander> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: OPEN_TIMEOUT_MS });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        resolve(new Bystander(socket, phase));
      });
    });
  }

  /** How long the echo in flight has been waiting (0 when none is). */
  waitingMs(now: number): number {
    return this.waiting && this.socket.readyState === WebSocket.OPEN ? now - this.sentAt : 0;
  }

  next(): void {
    if (this.stopping || this.socket.readyState !== WebSocket.OPEN) return;
    this.sentAt = performance.now();
    this.waiting = true;
    this.socket.send(String(++this.n));
  }

  close(): void {
    this.stopping = true;
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    else this.socket.terminate();
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }
}

/** What a phase reads besides the bystanders: the app, the flooder, and redis-server's CPU on Redis. */
interface PhaseContext {
  app: AppProcess;
  flooder: Helper;
  bystanders: readonly Bystander[];
  setPhase(phase: Recorder | undefined): void;
  redisCpuMs?: () => Promise<number>;
}

async function measurePhase(
  context: PhaseContext,
  name: PhaseName,
  /** Starts what the phase measures (the flood), after the counters' first reading. */
  begin?: () => Promise<void>,
): Promise<PhaseFigures> {
  const { app, flooder, bystanders, setPhase, redisCpuMs } = context;
  const before = await app.statistics();
  await begin?.();
  const redisStart = await redisCpuMs?.();
  const [appStart, flooderStart, meter] = [app.cpuMs(), flooder.cpuMs(), startCpuMeter()];
  const recorder = new Recorder();
  setPhase(recorder);
  await sleep(FLOOD_SETTINGS.phaseMs);
  setPhase(undefined);
  const time = meter();
  const end = performance.now();
  const stuckMs = Math.max(0, ...bystanders.map((bystander) => bystander.waitingMs(end)));
  const appMs = app.cpuMs() - appStart;
  const flooderMs = flooder.cpuMs() - flooderStart;
  const redisMs = redisStart === undefined ? 0 : (await redisCpuMs!()) - redisStart;
  const after = await app.statistics();
  const latencyMs = recorder.samples.summary();
  const share = (ms: number): number => cpuShare(ms, time.wallMs);
  return {
    phase: name,
    echoes: latencyMs.count,
    echoesPerSecond: (latencyMs.count / time.wallMs) * 1000,
    latencyMs,
    longestWaitMs: Math.max(latencyMs.count > 0 ? latencyMs.max : 0, stuckMs),
    echoesPerSlice: recorder.slices,
    cpu: {
      app: share(appMs),
      bench: share(time.clientMs),
      flooder: share(flooderMs),
      ...(redisCpuMs ? { redis: share(redisMs) } : {}),
      machine: share(time.machineMs),
      others: share(time.machineMs - appMs - time.clientMs - flooderMs - redisMs),
      steal: share(time.stealMs),
    },
    counters: counterDelta(before.interface, after.interface),
  };
}

/** A phase with the flooder at work (`reopen`: it replaces every socket the server closes). */
async function floodPhase(context: PhaseContext, name: PhaseName, reopen: boolean): Promise<PhaseFigures> {
  const { app, flooder } = context;
  const begin = async (): Promise<void> => {
    await flooder.request<FloodStartedReply>({ type: 'start', url: `${app.wsUrl}/flood`, reopen }, 'flooding');
  };
  let figures: PhaseFigures | undefined;
  try {
    figures = await measurePhase(context, name, begin);
  } finally {
    const report = await flooder.request<FloodReport>({ type: 'stop' }, 'flood-report');
    if (figures) figures.flooder = report;
  }
  return figures;
}

async function run(layer: FloodLayer, redisUrl: string): Promise<FloodOutcome> {
  const kind = layer === 'in-memory' ? 'echo-memory' : 'echo-redis';
  const [app, flooder] = await Promise.all([startApp(kind, redisUrl), startScript('flooder', 'flooder.ts')]);
  const admin = layer === 'redis' ? connect(redisUrl) : undefined;
  const bystanders: Bystander[] = [];
  try {
    let phase: Recorder | undefined;
    const context: PhaseContext = {
      app,
      flooder,
      bystanders,
      setPhase: (next) => void (phase = next),
      ...(admin ? { redisCpuMs: async () => parseServerCpuSeconds(await admin.info('cpu')) * 1000 } : {}),
    };
    const current = (): Recorder | undefined => phase;
    for (let i = 0; i < FLOOD_SETTINGS.bystanders; i++) {
      bystanders.push(await Bystander.open(`${app.wsUrl}/bystander/${i}`, current));
    }
    for (const bystander of bystanders) bystander.next();
    await sleep(FLOOD_SETTINGS.warmupMs);
    const quiet = await measurePhase(context, 'without flood');
    const single = await floodPhase(context, 'one flooding socket', false);
    // The single socket's leftovers (a queue draining, a close in progress) must not count in the next phase.
    await sleep(FLOOD_SETTINGS.pauseMs);
    const reopening = await floodPhase(context, 'flooder reopening', true);
    for (const flooded of [single, reopening]) {
      flooded.p99Ratio = flooded.latencyMs.p99 / quiet.latencyMs.p99;
      flooded.rateRatio = flooded.echoesPerSecond / quiet.echoesPerSecond;
    }
    const codes = bystanders.flatMap((b) => (b.closedCode === undefined ? [] : [b.closedCode]));
    return { layer, phases: [quiet, single, reopening], bystandersClosed: codes.length, bystanderCloseCodes: codes };
  } finally {
    for (const bystander of bystanders) bystander.close();
    if (admin) await disconnect(admin);
    await Promise.allSettled([app.stop(), flooder.stop()]);
  }
}

/** Runs the flood scenario on one layer; a failure is reported in the outcome. */
export async function runFlood(layer: FloodLayer, redisUrl: string): Promise<FloodOutcome> {
  process.stderr.write(`faults: flood, ${layer}\n`);
  const budget = FLOOD_SETTINGS.warmupMs + 3 * FLOOD_SETTINGS.phaseMs + 60_000;
  try {
    return await withDeadline(run(layer, redisUrl), budget, `the flood scenario (${layer})`);
  } catch (error) {
    process.stderr.write(`faults: flood, ${layer} FAILED: ${describe(error)}\n`);
    return { layer, error: describe(error) };
  }
}
