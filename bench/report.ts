import { cpus, loadavg, totalmem } from 'node:os';
import { buildDispatchSection, formatDispatchSection, type DispatchSection } from './dispatch-report';
import { cpu, fixed2, integer, micros, ms, percent, ratio, spread, table } from './format';
import type { ScenarioOutcome } from './scenario-outcome';

export interface MachineInfo {
  node: string;
  platform: string;
  arch: string;
  cpuCount: number;
  cpuModel: string;
  totalMemoryMiB: number;
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  loadAverage: number;
  redisVersion: string;
}

export interface BenchSettings {
  rounds: number;
  /** Warm-up before the first round of a scenario, and before each later one. */
  warmupMs: { first: number; later: number };
  /** Measured window of each round. */
  measureMs: number;
  inFlight: readonly number[];
  message: string;
}

export interface BenchReport {
  benchmark: 'layer send→receive';
  timestamp: string;
  machine: MachineInfo;
  settings: BenchSettings;
  scenarios: Array<ScenarioOutcome & { ratioToRaw?: number }>;
  /** Redis layer msgs/s ÷ raw ioredis msgs/s, per in-flight level (normal channel). */
  redisLayerVsRaw: Array<{ inFlight: number; ratio: number }>;
  /** RabbitMQ layer msgs/s ÷ raw amqplib msgs/s, per in-flight level (normal channel); empty without a broker. */
  rabbitmqLayerVsRaw: Array<{ inFlight: number; ratio: number }>;
  goal: { redisLayerVsRaw: number };
  /** Messages through a consumer and back (its reply), measured in the same run, interleaved with the above. */
  consumerDispatch: DispatchSection;
  /** Set when other work on the machine (or its hypervisor) took enough CPU to skew the figures. */
  noisy?: string;
  /** Scenarios that failed, consumer dispatch included. */
  failed: number;
}

export const RATIO_GOAL = 0.7;
/** Steal above this (% of one core) during a window makes the run's figures unreliable. */
const NOISY_STEAL_PERCENT = 20;

export function machineInfo(redisVersion: string): MachineInfo {
  const processors = cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuCount: processors.length,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    totalMemoryMiB: Math.round(totalmem() / 2 ** 20),
    loadAverage: loadavg()[0],
    redisVersion,
  };
}

/** Messages/s of the layer ÷ those of its raw reference (ioredis; amqplib for RabbitMQ) at the same in-flight level. */
function ratioToRaw(outcome: ScenarioOutcome, outcomes: readonly ScenarioOutcome[]): number | undefined {
  const reference = outcome.layer === 'rabbitmq layer' ? 'raw amqplib' : 'raw ioredis';
  if (outcome.layer.startsWith('raw ') || !outcome.figures) return undefined;
  const raw = outcomes.find((o) => o.layer === reference && o.inFlight === outcome.inFlight)?.figures;
  return raw ? outcome.figures.messagesPerSecond / raw.messagesPerSecond : undefined;
}

/** Names the scenario with the most steal when it is high enough to skew throughput comparisons. */
function noisiness(outcomes: readonly ScenarioOutcome[]): string | undefined {
  let worst: ScenarioOutcome | undefined;
  for (const o of outcomes) {
    if (o.figures && o.figures.cpuPercent.steal > (worst?.figures?.cpuPercent.steal ?? NOISY_STEAL_PERCENT)) worst = o;
  }
  if (!worst?.figures) return undefined;
  return (
    `steal reached ${Math.round(worst.figures.cpuPercent.steal)}% of a core (${worst.layer} ${worst.channel} ` +
    `@${worst.inFlight}): the hypervisor was busy, so msgs/s and ÷ raw are unreliable; compare µs/msg or rerun`
  );
}

export function buildReport(
  outcomes: readonly ScenarioOutcome[],
  machine: MachineInfo,
  settings: BenchSettings,
): BenchReport {
  const layerOutcomes = outcomes.filter((o) => o.worker === undefined);
  const scenarios = layerOutcomes.map((o) => ({ ...o, ratioToRaw: ratioToRaw(o, layerOutcomes) }));
  return {
    benchmark: 'layer send→receive',
    timestamp: new Date().toISOString(),
    machine,
    settings,
    scenarios,
    redisLayerVsRaw: scenarios.flatMap(({ layer, channel, inFlight, ratioToRaw: value }) =>
      layer === 'redis layer' && !channel.includes('!') && value !== undefined ? [{ inFlight, ratio: value }] : [],
    ),
    rabbitmqLayerVsRaw: scenarios.flatMap(({ layer, channel, inFlight, ratioToRaw: value }) =>
      layer === 'rabbitmq layer' && !channel.includes('!') && value !== undefined ? [{ inFlight, ratio: value }] : [],
    ),
    goal: { redisLayerVsRaw: RATIO_GOAL },
    consumerDispatch: buildDispatchSection(
      outcomes.filter((o) => o.worker !== undefined),
      layerOutcomes,
    ),
    noisy: noisiness(outcomes),
    failed: outcomes.filter((o) => o.error !== undefined).length,
  };
}

const HEADER = [
  'layer',
  'channel',
  'in flight',
  'msgs/s',
  'spread',
  '÷ raw',
  'p50 ms',
  'p99 ms',
  'cmd/msg client',
  'cmd/msg total',
  'CPU client',
  'CPU redis',
  'CPU machine',
  'steal',
  'µs/msg client',
  'µs/msg redis',
];

function row(scenario: BenchReport['scenarios'][number]): string[] {
  const head = [scenario.layer, scenario.channel, String(scenario.inFlight)];
  const f = scenario.figures;
  if (!f) return [...head, 'FAILED', ...HEADER.slice(head.length + 1).map(() => '—')];
  return [
    ...head,
    integer(f.messagesPerSecond),
    spread(f.roundRates),
    ratio(scenario.ratioToRaw),
    ms(f.latencyMs.p50),
    ms(f.latencyMs.p99),
    fixed2(f.commandsPerMessage?.client),
    fixed2(f.commandsPerMessage?.total),
    cpu(f.cpuPercent.client),
    cpu(f.cpuPercent.redis),
    cpu(f.cpuPercent.machine),
    cpu(f.cpuPercent.steal),
    micros(f.cpuMicrosPerMessage.client),
    micros(f.cpuMicrosPerMessage.redis),
  ];
}

export function formatReport(report: BenchReport): string {
  const { machine, settings, goal } = report;
  const warmup = `${settings.warmupMs.first / 1000} s (${settings.warmupMs.later / 1000} s before later rounds)`;
  const out = [
    `${report.benchmark} — ${report.timestamp}`,
    `node ${machine.node} ${machine.platform}/${machine.arch}, ${machine.cpuCount} CPUs (${machine.cpuModel}), ` +
      `load average ${machine.loadAverage.toFixed(2)} at start, redis-server ${machine.redisVersion}`,
    `closed loop: N messages in flight, one blocking receive loop; ${settings.rounds} rounds of ` +
      `${settings.measureMs / 1000} s per scenario, interleaved with the other scenarios of the same N; warm-up ${warmup}`,
    'msgs/s over all rounds, spread = ± half the range of the rounds; ÷ raw = msgs/s ÷ raw ioredis at the same N; ' +
      'latency = send() call → receive() returns',
    'cmd/msg: Redis commands per message (INFO commandstats): client = top-level, total = with those run in Lua',
    `CPU: % of one core (of ${machine.cpuCount * 100}%): client = this process, machine = all processes and the ` +
      'kernel, steal = CPU the hypervisor gave to others; high steal or machine CPU means noisy figures',
    'µs/msg: CPU time per message of this process and of Redis (steadier than msgs/s when steal is high)',
    '',
    table(HEADER, report.scenarios.map(row), 2),
    '',
  ];
  const ratios = report.redisLayerVsRaw.map(
    (level) =>
      `${level.inFlight} in flight ${ratio(level.ratio)}${level.ratio < goal.redisLayerVsRaw ? ' (below)' : ''}`,
  );
  out.push(`redis layer ÷ raw ioredis (goal ≥ ${percent(goal.redisLayerVsRaw)}): ${ratios.join(', ') || '—'}`);
  if (report.rabbitmqLayerVsRaw.length > 0) {
    const rabbit = report.rabbitmqLayerVsRaw.map(
      (level) =>
        `${level.inFlight} in flight ${ratio(level.ratio)}${level.ratio < goal.redisLayerVsRaw ? ' (below)' : ''}`,
    );
    out.push(`rabbitmq layer ÷ raw amqplib (goal ≥ ${percent(goal.redisLayerVsRaw)}): ${rabbit.join(', ')}`);
  }
  out.push('commands per message:');
  for (const { layer, channel, inFlight, figures } of report.scenarios) {
    if (!figures?.commandsPerMessage) continue;
    const calls = Object.entries(figures.commandsPerMessage.byCommand)
      .filter(([, perMessage]) => perMessage >= 0.005)
      .map(([command, perMessage]) => `${command} ${perMessage.toFixed(2)}`);
    out.push(`  ${layer} ${channel} @${inFlight}: ${calls.join(', ')}`);
  }
  out.push('', formatDispatchSection(report.consumerDispatch, machine.cpuCount));
  if (report.noisy) out.push(`WARNING: ${report.noisy}`);
  const failures = [...report.scenarios, ...report.consumerDispatch.scenarios].filter((s) => s.error !== undefined);
  if (failures.length > 0) {
    out.push('', `${failures.length} scenario(s) FAILED:`);
    for (const { layer, channel, inFlight, worker, error } of failures)
      out.push(`  ${layer} ${channel}${worker ? ` (worker ${worker})` : ''} @${inFlight}: ${error}`);
  }
  return out.join('\n');
}
