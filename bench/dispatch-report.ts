// The consumer dispatch section of the report: its figures beside the bare layer's, and its table.
import { DEFAULT_CONCURRENCY } from '../src/worker/worker-options';
import { DISPATCH_CHANNEL, REPLY_CHANNEL, REPLY_RECEIVE } from './dispatch-app';
import { cpu, fixed2, integer, micros, ms, ratio, spread, table } from './format';
import type { ScenarioFigures } from './layer-send-receive';
import type { ScenarioOutcome } from './scenario-outcome';
import type { WorkerPlacement } from './targets';

export interface DispatchOutcome extends ScenarioOutcome {
  worker: WorkerPlacement;
  /** Dispatches/s ÷ msgs/s of the same layer's bare send→receive (normal channel) at the same N. */
  ratioToLayer?: number;
  /**
   * CPU µs per dispatch of every process involved (load generator, worker, Redis) ÷ the same per
   * bare send→receive message: 2 would mean the consumer path costs no more than its second hop.
   */
  cpuRatioToLayer?: number;
}

export interface DispatchSection {
  benchmark: 'consumer dispatch';
  /** What the load generator sends and where it receives the replies. */
  message: string;
  consumer: string;
  /** Consumers one worker runs at once: the default, the scenarios do not set it. */
  workerConcurrency: number;
  scenarios: DispatchOutcome[];
}

/** CPU µs per message of all the processes a message goes through (an in-process worker is the client). */
function allProcessesMicros(figures: ScenarioFigures, worker: WorkerPlacement | undefined): number {
  const { client, worker: workerMicros = 0, redis = 0 } = figures.cpuMicrosPerMessage;
  return client + (worker === 'separate process' ? workerMicros : 0) + redis;
}

export function buildDispatchSection(
  outcomes: readonly ScenarioOutcome[],
  layerOutcomes: readonly ScenarioOutcome[],
): DispatchSection {
  const scenarios = outcomes.flatMap((outcome): DispatchOutcome[] => {
    const { worker, figures } = outcome;
    if (worker === undefined) return [];
    const bare = layerOutcomes.find(
      (o) => o.layer === outcome.layer && o.inFlight === outcome.inFlight && !o.channel.includes('!'),
    )?.figures;
    if (!figures || !bare) return [{ ...outcome, worker }];
    return [
      {
        ...outcome,
        worker,
        ratioToLayer: figures.messagesPerSecond / bare.messagesPerSecond,
        cpuRatioToLayer: allProcessesMicros(figures, worker) / allProcessesMicros(bare, undefined),
      },
    ];
  });
  return {
    benchmark: 'consumer dispatch',
    message: `{ n, reply_channel: '${REPLY_CHANNEL}' } to ${DISPATCH_CHANNEL}; replies received on ${REPLY_RECEIVE}`,
    consumer: `@Consumer('${DISPATCH_CHANNEL}') on an @Injectable(): message.replyChannel.send({ n })`,
    workerConcurrency: DEFAULT_CONCURRENCY,
    scenarios,
  };
}

const HEADER = [
  'layer',
  'worker',
  'in flight',
  'dispatches/s',
  'spread',
  '÷ layer',
  'p50 ms',
  'p99 ms',
  'cmd/disp client',
  'cmd/disp total',
  'CPU load gen',
  'CPU worker',
  'CPU redis',
  'CPU machine',
  'steal',
  'µs/disp load gen',
  'µs/disp worker',
  'µs/disp redis',
  'CPU ÷ layer',
];

/** What an in-process worker's row shows for the load generator: it is the same process. */
const SAME_PROCESS = '=worker';

function row(scenario: DispatchOutcome): string[] {
  const head = [scenario.layer, scenario.worker, String(scenario.inFlight)];
  const f = scenario.figures;
  if (!f) return [...head, 'FAILED', ...HEADER.slice(head.length + 1).map(() => '—')];
  const separate = scenario.worker === 'separate process';
  return [
    ...head,
    integer(f.messagesPerSecond),
    spread(f.roundRates),
    ratio(scenario.ratioToLayer),
    ms(f.latencyMs.p50),
    ms(f.latencyMs.p99),
    fixed2(f.commandsPerMessage?.client),
    fixed2(f.commandsPerMessage?.total),
    separate ? cpu(f.cpuPercent.client) : SAME_PROCESS,
    cpu(f.cpuPercent.worker),
    cpu(f.cpuPercent.redis),
    cpu(f.cpuPercent.machine),
    cpu(f.cpuPercent.steal),
    separate ? micros(f.cpuMicrosPerMessage.client) : SAME_PROCESS,
    micros(f.cpuMicrosPerMessage.worker),
    micros(f.cpuMicrosPerMessage.redis),
    fixed2(scenario.cpuRatioToLayer),
  ];
}

export function formatDispatchSection(section: DispatchSection, cpuCount: number): string {
  const out = [
    `${section.benchmark} — one worker runs ${section.consumer}, concurrency ${section.workerConcurrency} (default)`,
    `closed loop as above (same rounds, interleaved with the layer scenarios of the same N): the load generator ` +
      `sends ${section.message}; one dispatch = two layer hops (the message, then the reply)`,
    'in-memory: a Nest app context with ChannelsModule.forRoot() and its in-process worker, with the load generator ' +
      'in a helper process (consumers turn on promise hooks process-wide, which would slow the other scenarios); ' +
      'redis layer: runWorker() in a separate process (node --import tsx), the load generator in the bench process ' +
      'on a RedisChannelLayer of its own',
    '÷ layer = dispatches/s ÷ msgs/s of the same layer send→receive (bench.echo) at the same N; latency = send() ' +
      'call → reply received',
    'cmd/disp: Redis commands per dispatch, both processes together',
    `CPU: % of one core (of ${cpuCount * 100}%); worker = its process (/proc/<pid>/stat, 10 ms ticks; in-process: ` +
      `process.cpuUsage() of the helper, load generator included: ${SAME_PROCESS})`,
    'µs/disp: CPU time per dispatch of each process; CPU ÷ layer = µs per dispatch of all processes ÷ µs per bare ' +
      'send→receive message (2.00 = the consumer path costs only its second hop)',
    '',
    table(HEADER, section.scenarios.map(row), 2),
    '',
    'commands per dispatch:',
  ];
  for (const { layer, worker, inFlight, figures } of section.scenarios) {
    if (!figures?.commandsPerMessage) continue;
    const calls = Object.entries(figures.commandsPerMessage.byCommand)
      .filter(([, perDispatch]) => perDispatch >= 0.005)
      .map(([command, perDispatch]) => `${command} ${perDispatch.toFixed(2)}`);
    out.push(`  ${layer} (${worker}) @${inFlight}: ${calls.join(', ')}`);
  }
  return out.join('\n');
}
