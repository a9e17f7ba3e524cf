// `npm run bench`: layer send → receive and consumer dispatch benchmarks, then WebSocket echo and
// HTTP through the interface servers; prints their tables, writes bench/results/latest.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOrStartRabbitmq, type TestRabbitmq } from '../test/support/rabbitmq-server';
import { startRedisServer } from '../test/support/redis-server';
import type { SectionResult } from './bench-section';
import type { RoundSettings } from './closed-loop-round';
import { inMemoryDispatchTarget, redisDispatchTarget } from './dispatch-targets';
import { stopAllServers } from './interfaces';
import { rabbitmqLayerTarget, rawAmqplibTarget } from './layer-rabbitmq';
import { Scenario } from './layer-send-receive';
import { RedisProbe } from './redis-stats';
import { buildReport, formatReport, machineInfo, type BenchSettings } from './report';
import type { ScenarioOutcome } from './scenario-outcome';
import { LAYERS_SECTION, SECTIONS } from './sections';
import { connect, disconnect, inMemoryTarget, rawIoredisTarget, redisLayerTarget } from './targets';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

// `--node 24`: the whole bench on Node 24 (scripts/node24.mjs installs it into .node24/ when missing):
// this process runs itself again under that binary, and the processes it starts follow (they run
// process.execPath). Ctrl-C reaches the child (same process group), which cleans up; its exit code is ours.
const NODE_OPTION_AT = process.argv.indexOf('--node', 2);
if (NODE_OPTION_AT !== -1) {
  const major = process.argv[NODE_OPTION_AT + 1];
  if (major !== '24') {
    console.error(`--node takes 24 (without it the bench runs on the Node that started it); got "${major ?? ''}"`);
    process.exit(1);
  }
  if (!process.version.startsWith(`v${major}.`)) {
    const install = spawnSync(process.execPath, [join(__dirname, '..', 'scripts', 'node24.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (install.status !== 0) process.exit(1);
    const args = process.argv.slice(2).filter((_, i) => i !== NODE_OPTION_AT - 2 && i !== NODE_OPTION_AT - 1);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
    const bench = spawnSync(install.stdout.trim(), [...process.execArgv, process.argv[1], ...args], {
      stdio: 'inherit',
    });
    process.exit(bench.status ?? 1);
  }
}
process.stderr.write(`bench: Node ${process.version} (${process.execPath})\n`);

const IN_FLIGHT = [1, 16, 256] as const;
const ROUNDS = 5;
const FIRST_WARMUP_MS = 500;
const LATER_WARMUP_MS = 200;
/** BENCH_SECONDS sets each round's measured window (default 0.6 s; 5 rounds per scenario). */
const MEASURE_MS = measureMs(process.env.BENCH_SECONDS);
const RECEIVE_TIMEOUT_SECONDS = 2;
/** A round still running this long after its planned end has hung. */
const ROUND_GRACE_MS = 10_000;
const RESULTS_DIR = join(__dirname, 'results');

function measureMs(seconds: string | undefined): number {
  const value = Number(seconds ?? 0.6);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`BENCH_SECONDS must be a positive number, got ${seconds}`);
  return value * 1000;
}

/** The scenarios of one in-flight level; they take turns round by round. */
function scenarios(
  redisUrl: string,
  inFlight: number,
  probe: RedisProbe,
  worker: Promise<WorkerProcess>,
  rabbitmqUrl: string | undefined,
): Scenario[] {
  const targets = [
    inMemoryTarget('bench.echo'),
    rawIoredisTarget(redisUrl, 'bench.echo'),
    redisLayerTarget(redisUrl, 'bench.echo'),
  ];
  if (inFlight === 16) targets.push(redisLayerTarget(redisUrl, 'bench.reply!abc'));
  if (rabbitmqUrl) {
    targets.push(rawAmqplibTarget(rabbitmqUrl, 'bench.echo'), rabbitmqLayerTarget(rabbitmqUrl, 'bench.echo'));
    if (inFlight === 16) targets.push(rabbitmqLayerTarget(rabbitmqUrl, 'bench.reply!abc'));
  }
  targets.push(inMemoryDispatchTarget(), redisDispatchTarget(redisUrl, worker));
  return targets.map((target) => new Scenario(target, inFlight, probe));
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs every round of one level's scenarios, rotating their order each round. */
async function runLevel(level: Scenario[]): Promise<void> {
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...level.slice(round % level.length), ...level.slice(0, round % level.length)];
      for (const scenario of order) {
        if (scenario.error !== undefined) continue;
        const { layer, channel, worker } = scenario.target;
        const name = `${layer} ${channel}${worker ? ` (worker ${worker})` : ''} @${scenario.inFlight}`;
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name}\n`);
        const settings: Omit<RoundSettings, 'inFlight'> = {
          warmupMs: round === 0 ? FIRST_WARMUP_MS : LATER_WARMUP_MS,
          measureMs: MEASURE_MS,
          receiveTimeoutSeconds: RECEIVE_TIMEOUT_SECONDS,
        };
        try {
          const limit = settings.warmupMs + settings.measureMs + ROUND_GRACE_MS;
          await withDeadline(scenario.runRound(settings), limit, name);
        } catch (error) {
          scenario.error = describe(error);
          process.stderr.write(`${name} FAILED: ${scenario.error}\n`);
          // Closing ends a loop that may still be running, so it cannot skew the other scenarios.
          await scenario.close().catch(() => undefined);
        }
      }
    }
  } finally {
    await Promise.all(level.map((scenario) => scenario.close().catch(() => undefined)));
  }
}

/**
 * The RabbitMQ of the layer section's RabbitMQ rows (RABBITMQ_URL, the local one, or one started
 * for the run); without one those rows are left out, saying why, and the rest runs.
 */
async function rabbitmqForBench(): Promise<TestRabbitmq | undefined> {
  try {
    return await findOrStartRabbitmq();
  } catch (error) {
    process.stderr.write(`bench: no RabbitMQ, so no RabbitMQ layer rows: ${describe(error)}\n`);
    return undefined;
  }
}

/** Stops the worker process if it started (a start that failed has already ended it). */
async function stopWorker(worker: Promise<WorkerProcess>): Promise<void> {
  await worker.then(
    (running) => running.stop(),
    () => undefined,
  );
}

/** `--only a,b`: the sections to run (default all); `--help` lists them. */
function selectedSections(argv: readonly string[]): Set<string> {
  const names = [LAYERS_SECTION, ...SECTIONS.map((section) => section.name)];
  if (argv.includes('--help')) {
    console.log(`npm run bench [-- --only <${names.join('|')}>[,…]] [--node 24]`);
    console.log(`  ${LAYERS_SECTION}: layer send → receive and consumer dispatch`);
    for (const section of SECTIONS) console.log(`  ${section.name}: ${section.describe}`);
    process.exit(0);
  }
  const at = argv.indexOf('--only');
  if (at === -1) return new Set(names);
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = wanted.filter((name) => !names.includes(name));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes a comma-separated list of ${names.join(', ')}; got "${argv[at + 1] ?? ''}"`);
  }
  return new Set(wanted);
}

async function main(): Promise<number> {
  const selected = selectedSections(process.argv.slice(2));
  const redis = await startRedisServer();
  // The Redis dispatch scenario's worker, shared by every level. A failed start fails those scenarios only.
  const worker = selected.has(LAYERS_SECTION) ? startWorkerProcess(redis.url) : undefined;
  worker?.catch(() => undefined); // handled where it is awaited; no unhandled rejection meanwhile
  const rabbitmq = selected.has(LAYERS_SECTION) ? await rabbitmqForBench() : undefined;
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    void Promise.allSettled([worker && stopWorker(worker), stopAllServers(), redis.stop(), rabbitmq?.stop()]).finally(
      () => process.exit(signal === 'SIGINT' ? 130 : 143),
    );
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const admin = connect(redis.url);
  try {
    const probe = new RedisProbe(admin);
    const machine = machineInfo(await probe.version());
    const texts: string[] = [];
    let json: Record<string, unknown> = { machine };
    let failed = 0;
    if (worker) {
      // Its start-up (compiling, Nest bootstrap) would skew the first figures: wait for it either way.
      await worker.catch((error: unknown) => process.stderr.write(`dispatch worker: ${describe(error)}\n`));
      const all: Scenario[] = [];
      for (const inFlight of IN_FLIGHT) {
        const level = scenarios(redis.url, inFlight, probe, worker, rabbitmq?.url);
        await runLevel(level);
        all.push(...level);
      }
      const settings: BenchSettings = {
        rounds: ROUNDS,
        warmupMs: { first: FIRST_WARMUP_MS, later: LATER_WARMUP_MS },
        measureMs: MEASURE_MS,
        inFlight: IN_FLIGHT,
        message: "{ text: 'hello world', n, sent_at }",
      };
      const outcomes = all.map((scenario): ScenarioOutcome => {
        const figures = scenario.figures();
        const { target, inFlight } = scenario;
        const error = scenario.error ?? (figures ? undefined : 'no round completed');
        const { layer, channel, worker: placement } = target;
        return {
          layer,
          channel,
          inFlight,
          ...(placement ? { worker: placement } : {}),
          ...(error ? { error } : { figures }),
        };
      });
      const report = buildReport(outcomes, machine, settings);
      texts.push(formatReport(report));
      json = { ...report };
      failed += report.failed;
    }
    // The layer scenarios' worker is idle from here on; the later sections start their own processes.
    if (worker) await stopWorker(worker);
    for (const section of SECTIONS) {
      if (!selected.has(section.name)) continue;
      process.stderr.write(`section ${section.name}\n`);
      let result: SectionResult;
      try {
        result = await section.run(redis.url);
      } catch (error) {
        result = { text: `${section.name}: FAILED: ${describe(error)}`, json: { error: describe(error) }, failed: 1 };
      } finally {
        await stopAllServers();
      }
      texts.push(result.text);
      json[section.name] = result.json;
      failed += result.failed;
    }
    console.log(texts.join('\n\n'));
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, 'latest.json');
    writeFileSync(file, `${JSON.stringify({ ...json, failed }, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
    return failed > 0 ? 1 : 0;
  } finally {
    await stopAllServers();
    if (worker) await stopWorker(worker); // stopping twice is harmless
    await disconnect(admin);
    await redis.stop();
    await rabbitmq?.stop();
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; if a stray handle still keeps the process alive, say so and exit.
    setTimeout(() => {
      console.error(`bench: still running after cleanup: ${process.getActiveResourcesInfo().join(', ')}`);
      process.exit(code || 1);
    }, 5000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
