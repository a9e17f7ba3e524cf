// The broadcast section's table, goal checks and notes.
import { cpus } from 'node:os';
import { cpu, fixed2, integer, micros, ms, spread, table } from '../format';
import type { RunRow } from './scenario';
import type { BroadcastSettings } from './settings';
import type { SystemName } from './system';

/** Group broadcast frames/s ÷ the Socket.IO Redis adapter's, maximum rate, same size. */
export const FRAMES_GOAL = 1.5;
/** Interface processes per system: Redis calls per group send may grow with these, not with members. */
export const INTERFACE_PROCESSES = 2;

export interface Goal {
  goal: string;
  met: boolean;
  detail: string;
}

const isChannels = (row: RunRow): boolean => row.system === 'nestjs-channels';
const measured = (row: RunRow): boolean => row.error === undefined && row.sends !== undefined;

const SOCKET_IO: SystemName = 'Socket.IO';
const ENGINE_IO: SystemName = 'Socket.IO, engine.io client';

/** Sets each nestjs-channels row's ratios to the Socket.IO rows (both clients) of the same size and mode. */
export function addRatios(rows: RunRow[]): void {
  const serverPerFrame = (r: RunRow): number | undefined => finite(r.microsPerFrame?.servers);
  for (const row of rows.filter((r) => isChannels(r) && measured(r))) {
    const of = (system: SystemName): RunRow | undefined =>
      rows.find((r) => r.system === system && measured(r) && r.sockets === row.sockets && r.mode === row.mode);
    const cpuRatio = (reference: RunRow): number | undefined => {
      const [mine, theirs] = [serverPerFrame(row), serverPerFrame(reference)];
      return mine !== undefined && theirs ? mine / theirs : undefined;
    };
    const socketIo = of(SOCKET_IO);
    if (socketIo?.framesPerSecond) {
      row.ratioToSocketIo = (row.framesPerSecond ?? 0) / socketIo.framesPerSecond;
      row.cpuRatioToSocketIo = cpuRatio(socketIo);
    }
    const engineIo = of(ENGINE_IO);
    if (engineIo?.framesPerSecond) {
      row.ratioToEngineIo = (row.framesPerSecond ?? 0) / engineIo.framesPerSecond;
      row.cpuRatioToEngineIo = cpuRatio(engineIo);
    }
  }
}

/** Truncated to 2 decimals, so 99.996% never prints as 100%. */
function delivery(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value === 1) return '100%';
  return `${(Math.floor(value * 10_000) / 100).toFixed(2)}%`;
}

/** Truncated, so a ratio just under the goal never prints as the goal. */
function times(value: number | undefined): string {
  return value === undefined ? '—' : `${(Math.floor(value * 100) / 100).toFixed(2)}×`;
}

export function evaluateGoals(rows: readonly RunRow[], sizes: readonly number[]): Goal[] {
  const channels = rows.filter(isChannels);
  const goals: Goal[] = [];
  for (const sockets of sizes) {
    const mine = channels.filter((r) => r.sockets === sockets);
    const short = mine.filter((r) => !measured(r) || r.deliveryRatio !== 1);
    goals.push({
      goal: `delivery ratio 100% at ${integer(sockets)} sockets`,
      met: mine.length > 0 && short.length === 0,
      detail: (short.length === 0 ? mine : short)
        .map((r) =>
          r.error
            ? `${r.mode}: FAILED (${r.error})`
            : `${r.mode}: ${integer(r.delivered ?? 0)} of ${integer((r.sends ?? 0) * sockets)} frames`,
        )
        .join(', '),
    });
  }
  for (const sockets of sizes) {
    const row = channels.find((r) => r.sockets === sockets && r.mode === 'max');
    goals.push({
      goal: `frames/s ≥ ${FRAMES_GOAL}× Socket.IO at the maximum rate, ${integer(sockets)} sockets`,
      met: row?.ratioToSocketIo !== undefined && row.ratioToSocketIo >= FRAMES_GOAL,
      detail: row?.ratioToSocketIo === undefined ? 'no comparison (a run failed)' : times(row.ratioToSocketIo),
    });
  }
  // Against Socket.IO with the engine.io client (a client as light as ws), at the largest size.
  const largest = sizes[sizes.length - 1];
  const row = channels.find((r) => r.sockets === largest && r.mode === 'max');
  goals.push({
    goal: `frames/s ≥ ${FRAMES_GOAL}× Socket.IO with the engine.io client at the maximum rate, ${integer(largest)} sockets`,
    met: row?.ratioToEngineIo !== undefined && row.ratioToEngineIo >= FRAMES_GOAL,
    detail: row?.ratioToEngineIo === undefined ? 'no comparison (a run failed)' : times(row.ratioToEngineIo),
  });
  // Client calls: one EVALSHA per group send, and at most one BLMPOP per interface process (fewer
  // when one pop takes several sends' entries). All commands: the script's inner calls must not
  // grow with members either (compared between the smallest and the largest size, paced).
  const ok = channels.filter(measured);
  const limit = 1 + INTERFACE_PROCESSES;
  const calls = ok.every((r) => (r.redis?.clientCallsPerSend ?? Infinity) <= limit + 0.05);
  const paced = [sizes[0], sizes[sizes.length - 1]].map((s) => ok.find((r) => r.sockets === s && r.mode === 'paced'));
  const [small, large] = paced.map((r) => r?.redis?.commandsPerSend);
  const flat = sizes.length > 1 && small !== undefined && large !== undefined && large <= small * 1.1;
  goals.push({
    goal: `Redis commands per group send grow with interface processes (${INTERFACE_PROCESSES}), not with members`,
    met: ok.length > 0 && calls && flat,
    detail:
      `client calls/send ≤ 1 + ${INTERFACE_PROCESSES}: ${calls ? 'yes' : 'NO'} (` +
      ok.map((r) => `${integer(r.sockets)} ${r.mode}: ${fixed2(r.redis?.clientCallsPerSend)}`).join(', ') +
      `); all commands/send, Lua's inner calls included, paced: ` +
      paced.map((r) => (r?.redis ? `${integer(r.sockets)}: ${fixed2(r.redis.commandsPerSend)}` : '—')).join(' vs ') +
      (sizes.length < 2 ? ' (one size only)' : flat ? ' (flat)' : ' (NOT flat)'),
  });
  return goals;
}

/** A process that died mid-run has no CPU reading (NaN): shown as —. */
const finite = (value: number | undefined): number | undefined =>
  value !== undefined && Number.isFinite(value) ? value : undefined;

/** One figure per process, e.g. `48+47%`: 100% is one saturated process. */
const perProcess = (values: readonly number[]): string =>
  `${values.map((v) => (Number.isFinite(v) ? String(Math.round(v)) : '—')).join('+')}%`;

const HEADER = [
  'system',
  'sockets',
  'mode',
  'sends',
  'delivery',
  'frames/s',
  'rounds',
  'vs SIO',
  'CPU vs SIO',
  'vs SIO eio',
  'CPU vs SIO eio',
  'p50 ms',
  'p99 ms',
  'max ms',
  'Redis calls/send',
  'cmds/send',
  'redis µs/send',
  'server µs/frame',
  'client µs/frame',
  'servers CPU',
  'clients CPU',
  'bench CPU',
  'redis CPU',
  'machine',
  'others',
];

export function formatBroadcast(rows: readonly RunRow[], goals: readonly Goal[], settings: BroadcastSettings): string {
  const modeName = (row: RunRow): string =>
    row.mode === 'paced' ? `every ${settings.intervalMs} ms` : `max (window ${settings.window})`;
  const body = rows.map((r) => {
    const head = [r.system, integer(r.sockets), modeName(r)];
    if (!measured(r) || !r.latencyMs || !r.cpu || !r.redis || !r.microsPerFrame)
      return [...head, `FAILED: ${r.error ?? 'no figures'}`];
    const goal = (value: number | undefined, largestOnly: boolean): string =>
      r.mode === 'max' && (!largestOnly || r.sockets === settings.sizes[settings.sizes.length - 1])
        ? ` ${(value ?? 0) >= FRAMES_GOAL ? 'ok' : 'MISSED'}`
        : '';
    const cpuTimes = (value: number | undefined): string => (value === undefined ? '—' : `${value.toFixed(2)}×`);
    const vs = (system: SystemName, value: string): string =>
      r.system === system ? 'ref' : isChannels(r) ? value : '';
    return [
      ...head,
      integer(r.sends ?? 0),
      delivery(r.deliveryRatio),
      integer(r.framesPerSecond ?? 0),
      r.roundFramesPerSecond?.length ? spread(r.roundFramesPerSecond) : '—',
      vs(SOCKET_IO, `${times(r.ratioToSocketIo)}${goal(r.ratioToSocketIo, false)}`),
      vs(SOCKET_IO, cpuTimes(r.cpuRatioToSocketIo)),
      vs(ENGINE_IO, `${times(r.ratioToEngineIo)}${goal(r.ratioToEngineIo, true)}`),
      vs(ENGINE_IO, cpuTimes(r.cpuRatioToEngineIo)),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      ms(r.latencyMs.max),
      fixed2(r.redis.clientCallsPerSend),
      fixed2(r.redis.commandsPerSend),
      micros(r.redis.microsPerSend),
      micros(finite(r.microsPerFrame.servers)),
      micros(finite(r.microsPerFrame.clients)),
      perProcess(r.cpu.servers),
      perProcess(r.cpu.clients),
      cpu(r.cpu.bench),
      cpu(r.cpu.redis),
      cpu(r.cpu.machine),
      cpu(finite(r.cpu.others)),
    ];
  });
  const notes = rows.flatMap((r) => {
    const where = `${r.system} ${integer(r.sockets)} ${r.mode}`;
    return [
      ...(r.incomplete ?? []).map((why) => `${where}: ${why}`),
      ...(r.sendErrors ? [`${where}: ${r.sendErrors} sends failed (${r.firstSendError})`] : []),
      ...(r.duplicates ? [`${where}: ${r.duplicates} frames out of order or twice`] : []),
      ...(r.dropped ? [`${where}: ${r.dropped} sockets closed during the rounds`] : []),
    ];
  });
  const cores = cpus().length;
  return [
    `Group broadcast: N sockets on 2 server processes (N/2 each), held by 2 client processes (ws for nestjs-channels; Socket.IO twice: socket.io-client on the websocket transport, and "engine.io client" = its protocol by hand over ws, engine.io packets and 42[…] events, as light a client as ws); ` +
      `vs SIO / vs SIO eio = nestjs-channels frames/s ÷ Socket.IO's with each client; CPU vs = server µs/frame ÷ theirs (above 1× = more server CPU per frame); ` +
      `nestjs-channels: Group.send from the bench process, runWorker adds each socket to the group on connect; ` +
      `Socket.IO: io.to(room).emit in server 1, @socket.io/redis-adapter carries it to server 2. ` +
      `${settings.rounds} rounds per mode, the systems taking turns, after ${settings.warmupMs / 1000} s warm-up: ` +
      `paced = ${settings.pacedSendsPerRound} sends every ${settings.intervalMs} ms per round; ` +
      `max = ${(settings.maxRoundMs / 1000).toFixed(1)} s per round, closed loop with at most ${settings.window} sends not yet delivered to every socket. ` +
      `delivery = frames received ÷ (sends × N); frames/s = delivered ÷ (last delivery − first send); rounds = spread of the rounds' frames/s; µs/frame = CPU of the servers (channels: interfaces + worker) and of the clients per delivered frame; ` +
      `latency = receive − send, wall clock; Redis calls = commands the system's processes send per group send (channels: EVALSHA + the interfaces' BLMPOP; Socket.IO: PUBLISH), cmds = those and the calls inside Lua scripts, redis µs/send = time redis-server spent executing them (INFO commandstats); ` +
      `CPU in % of one core: servers and clients per process (100% = saturated), machine = all processes (${cores} cores = ${cores * 100}%), ` +
      `others = machine − this system's processes, the bench and redis-server (other work on the machine)`,
    table(HEADER, body, 3),
    ...(notes.length ? ['', ...notes] : []),
    '',
    ...goals.map((g) => `goal ${g.met ? 'met' : 'MISSED'}: ${g.goal} — ${g.detail}`),
  ].join('\n');
}
