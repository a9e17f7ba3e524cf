// Closed-loop send → receive: N messages stay in flight; each receive triggers the next send.
import type { ChannelMessage } from '../src';
import type { RoundResult, RoundSettings } from './closed-loop-round';
import { isBookkeeping, type CommandCalls, type RedisProbe } from './redis-stats';
import { addCpuTime, Samples, startCpuMeter, type CpuTime, type LatencySummary } from './stats';
import type { Endpoint, RemoteLoad, Target } from './targets';

/** Hooks run (not awaited) when the measured window opens and closes. */
interface WindowHooks {
  onOpen?(): void;
  onClose?(): void;
}

/** Milliseconds on the monotonic high-resolution clock (hrtime). */
const now = (): number => performance.now();

function sentAt(message: ChannelMessage): number {
  const value = message.sent_at;
  if (typeof value !== 'number') throw new Error(`received a message without sent_at: ${JSON.stringify(message)}`);
  return value;
}

/**
 * One closed-loop round: `inFlight` sends, then a single blocking receive loop (like a worker)
 * that sends the next message after each one it gets. Latencies (send call → receive returns)
 * of messages received inside the window go to `latencies`. After the window no new message is
 * sent and the loop drains what is in flight, so every message sent is also received. Phases
 * change on a receive, never on a timer: an in-memory loop never yields to timers.
 */
export async function runRound(
  endpoint: Endpoint,
  settings: RoundSettings,
  latencies: Samples,
  hooks: WindowHooks = {},
): Promise<RoundResult> {
  let sent = 0;
  let outstanding = 0;
  let sendError: unknown;
  let sending = true;
  const sendNext = (): void => {
    const message: ChannelMessage = { text: 'hello world', n: sent, sent_at: now() };
    sent++;
    outstanding++;
    endpoint.send(message).catch((error: unknown) => (sendError ??= error));
  };

  const opensAt = now() + settings.warmupMs;
  let window: { start: number; received: number; cpu: () => CpuTime } | undefined;
  let result: Omit<RoundResult, 'totalMessages'> | undefined;
  let received = 0;

  for (let i = 0; i < settings.inFlight; i++) sendNext();
  while (outstanding > 0) {
    const message = await endpoint.receive(settings.receiveTimeoutSeconds);
    if (sendError !== undefined) throw sendError;
    if (!message) {
      throw new Error(`no message within ${settings.receiveTimeoutSeconds} s with ${outstanding} in flight`);
    }
    const at = now();
    received++;
    outstanding--;
    if (!window) {
      if (at >= opensAt) {
        window = { start: at, received, cpu: startCpuMeter() };
        hooks.onOpen?.();
      }
    } else if (!result) {
      if (at - window.start >= settings.measureMs) {
        result = { messages: received - window.received, cpu: window.cpu() };
        hooks.onClose?.();
        sending = false;
      } else {
        latencies.add(at - sentAt(message));
      }
    }
    if (sending) sendNext();
  }
  if (!result) throw new Error('the loop ended before the measured window closed');
  return { ...result, totalMessages: sent };
}

export interface CommandFigures {
  /** Top-level commands the client issued, per message. */
  client: number;
  /** Every call Redis counted (Lua-internal ones included), bookkeeping excluded, per message. */
  total: number;
  /** Calls per message of each command, most frequent first. */
  byCommand: Record<string, number>;
}

export interface ScenarioFigures {
  /** Messages received inside the measured windows, and the windows' total length. */
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Messages/s of each round, to judge how steady the machine was. */
  roundRates: number[];
  /** Send call → receive returns, over every measured window. */
  latencyMs: LatencySummary;
  /**
   * % of one core inside the windows: this process, the worker's process (consumer dispatch),
   * Redis, the whole machine, and hypervisor steal.
   */
  cpuPercent: { client: number; worker?: number; redis?: number; machine: number; steal: number };
  /**
   * CPU time per message (µs) of this process, of the worker's process and of Redis: what a
   * message costs each side, steadier than msgs/s on a busy machine (time stolen by the
   * hypervisor is not counted). An in-process worker's figure is this process's.
   */
  cpuMicrosPerMessage: { client: number; worker?: number; redis?: number };
  /** From INFO commandstats, over whole rounds (warm-up and drain included) ÷ messages sent. */
  commandsPerMessage?: CommandFigures;
  totalMessages: number;
}

function commandFigures(calls: CommandCalls, clientCommands: readonly string[], messages: number): CommandFigures {
  const byCommand: Record<string, number> = {};
  let client = 0;
  let total = 0;
  for (const [command, count] of Object.entries(calls).sort(([, a], [, b]) => b - a)) {
    if (isBookkeeping(command)) continue;
    byCommand[command] = count / messages;
    total += count;
    if (clientCommands.includes(command)) client += count;
  }
  return { client: client / messages, total: total / messages, byCommand };
}

/**
 * One target at one in-flight level, measured over several rounds (interleaved with other
 * scenarios by the caller, so a noisy moment of the machine does not hit one target only).
 * For Redis targets, command counts are reset before each round and read after it. A target
 * whose load generator runs in a helper process (RemoteLoad) has it run the round there; its
 * CPU figures are then the helper's.
 */
export class Scenario {
  /** Why a round failed; the runner sets it and skips the scenario from then on. */
  error: string | undefined;
  private readonly latencies = new Samples();
  private readonly rounds: RoundResult[] = [];
  private readonly calls: CommandCalls = {};
  private redisCpuMs = 0;
  private workerCpuMs = 0;
  private endpoint: Endpoint | RemoteLoad | undefined;

  constructor(
    readonly target: Target,
    readonly inFlight: number,
    private readonly probe: RedisProbe,
  ) {}

  async runRound(settings: Omit<RoundSettings, 'inFlight'>): Promise<void> {
    const endpoint = (this.endpoint ??= await this.target.open());
    if ('runRound' in endpoint) {
      const { round, latencies } = await endpoint.runRound({ ...settings, inFlight: this.inFlight });
      this.latencies.addAll(latencies);
      this.rounds.push(round);
      return;
    }
    const probe = this.target.clientCommands ? this.probe : undefined;
    if (probe) await probe.resetStats();
    const cpuReadings: Array<Promise<number>> = [];
    const workerReadings: number[] = [];
    const hooks: WindowHooks = {};
    if (probe || endpoint.workerCpuMs) {
      hooks.onOpen = hooks.onClose = () => {
        if (endpoint.workerCpuMs) workerReadings.push(endpoint.workerCpuMs());
        if (probe) cpuReadings.push(probe.cpuSeconds());
      };
    }
    const round = await runRound(endpoint, { ...settings, inFlight: this.inFlight }, this.latencies, hooks);
    if (workerReadings.length === 2) this.workerCpuMs += workerReadings[1] - workerReadings[0];
    if (probe) {
      const [start, end] = await Promise.all(cpuReadings);
      this.redisCpuMs += (end - start) * 1000;
      for (const [command, count] of Object.entries(await probe.commandCalls())) {
        this.calls[command] = (this.calls[command] ?? 0) + count;
      }
    }
    this.rounds.push(round);
  }

  figures(): ScenarioFigures | undefined {
    if (this.error !== undefined || this.rounds.length === 0) return undefined;
    const cpu = this.rounds.map((round) => round.cpu).reduce(addCpuTime);
    const messages = this.rounds.reduce((sum, round) => sum + round.messages, 0);
    const totalMessages = this.rounds.reduce((sum, round) => sum + round.totalMessages, 0);
    const percentOfWall = (ms: number): number => (ms / cpu.wallMs) * 100;
    const microsPerMessage = (ms: number): number => (ms * 1000) / messages;
    const { clientCommands, worker } = this.target;
    // An in-process worker shares the load generator's process: its CPU is that process's.
    const workerMs = worker === 'in-process' ? cpu.clientMs : this.workerCpuMs;
    return {
      messages,
      seconds: cpu.wallMs / 1000,
      messagesPerSecond: messages / (cpu.wallMs / 1000),
      roundRates: this.rounds.map((round) => round.messages / (round.cpu.wallMs / 1000)),
      latencyMs: this.latencies.summary(),
      cpuPercent: {
        client: percentOfWall(cpu.clientMs),
        ...(worker ? { worker: percentOfWall(workerMs) } : {}),
        ...(clientCommands ? { redis: percentOfWall(this.redisCpuMs) } : {}),
        machine: percentOfWall(cpu.machineMs),
        steal: percentOfWall(cpu.stealMs),
      },
      cpuMicrosPerMessage: {
        client: microsPerMessage(cpu.clientMs),
        ...(worker ? { worker: microsPerMessage(workerMs) } : {}),
        ...(clientCommands ? { redis: microsPerMessage(this.redisCpuMs) } : {}),
      },
      ...(clientCommands ? { commandsPerMessage: commandFigures(this.calls, clientCommands, totalMessages) } : {}),
      totalMessages,
    };
  }

  async close(): Promise<void> {
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    await endpoint?.close();
  }
}
