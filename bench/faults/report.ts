// The faults section's printed tables, goal lines and goals (for bench/results/latest.json).
import { cpu, integer, ms, ratio, table } from '../format';
import { BODY_SETTINGS, type BodyOutcome } from './bodies';
import { CHAT_SETTINGS, type ChatOutcome } from './chat';
import { FLOOD_SETTINGS, type FloodOutcome, type PhaseFigures } from './flood';
import { BODY_APP_TIMEOUT_S } from './protocol';

export interface FaultGoal {
  scenario: string;
  goal: string;
  value: number | undefined;
  met: boolean;
}

const MIB = 1024 * 1024;
/** A bystander's echo waiting longer than this is a stall, not a slowdown. */
const STALL_MS = 3000;
const mib = (bytes: number | undefined): string =>
  bytes === undefined || !Number.isFinite(bytes) ? '—' : (bytes / MIB).toFixed(1);
const times = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? '—' : `${value < 10 ? value.toFixed(1) : Math.round(value)}×`;
/** A latency, or — when there was none (no echo came back). */
const latency = (value: number): string => (Number.isFinite(value) ? ms(value) : '—');
const verdict = (met: boolean): string => (met ? 'ok' : 'MISSED');
/** 13,650,000 → 13.7M; 98,304 → 98.3k. */
function compact(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 10_000) return integer(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}
/** Codes counted: [1013, 1013, 1012] or { 1013: 2, 1012: 1 } → "1013 ×2, 1012". */
function codes(list: readonly number[] | Record<string, number> | undefined): string {
  const counts: Record<string, number> = {};
  if (Array.isArray(list)) for (const code of list) counts[code] = (counts[code] ?? 0) + 1;
  else Object.assign(counts, list ?? {});
  const parts = Object.entries(counts).map(([code, n]) => (n > 1 ? `${code} ×${n}` : code));
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function evaluateGoals(flood: FloodOutcome[], bodies: BodyOutcome[], chat: ChatOutcome[]): FaultGoal[] {
  const goals: FaultGoal[] = [];
  for (const outcome of flood) {
    if (outcome.error) continue;
    goals.push({
      scenario: `flood, ${outcome.layer}`,
      goal: 'bystander sockets closed = 0',
      value: outcome.bystandersClosed,
      met: outcome.bystandersClosed === 0,
    });
  }
  for (const outcome of bodies) {
    if (outcome.error) continue;
    goals.push({
      scenario: `unread bodies, ${outcome.layer}`,
      goal: `app RSS growth ≤ ${BODY_SETTINGS.goalGrowthBytes / MIB} MiB over its baseline`,
      value: outcome.growth,
      met: outcome.goalMet === true,
    });
    const answered = Object.values(outcome.serverAnswers ?? {}).reduce((sum, n) => sum + n, 0);
    goals.push({
      scenario: `unread bodies, ${outcome.layer}`,
      goal: `every request answered (${BODY_SETTINGS.requests})`,
      value: answered,
      met: answered === BODY_SETTINGS.requests,
    });
  }
  for (const outcome of chat) {
    if (outcome.error || !outcome.account) continue;
    if (outcome.fault === 'stall') {
      goals.push({
        scenario: 'chat, Redis stall',
        goal: 'lines lost = 0',
        value: outcome.account.lost,
        met: outcome.account.lost === 0,
      });
      goals.push({
        scenario: 'chat, Redis stall',
        goal: 'sockets closed = 0',
        value: outcome.socketsClosed,
        met: outcome.socketsClosed === 0,
      });
    } else {
      goals.push({
        scenario: 'chat, Redis restart',
        goal: 'lines lost unaccounted = 0',
        value: outcome.account.unaccounted,
        met: outcome.account.unaccounted === 0,
      });
    }
  }
  return goals;
}

function floodRow(layer: string, phase: PhaseFigures): string[] {
  const quiet = phase.phase === 'without flood';
  const flood = phase.flooder;
  const dash = '—';
  return [
    layer,
    phase.phase,
    integer(phase.echoesPerSecond),
    quiet ? 'ref' : ratio(phase.rateRatio),
    latency(phase.latencyMs.p50),
    latency(phase.latencyMs.p99),
    quiet ? 'ref' : times(phase.p99Ratio),
    ms(phase.longestWaitMs),
    flood ? String(flood.socketsOpened) : dash,
    flood ? codes(flood.closeCodes) : dash,
    flood?.firstCloseMs === undefined ? dash : integer(flood.firstCloseMs),
    quiet ? dash : integer(phase.counters.websocketPauses ?? 0),
    flood ? compact(flood.framesWritten) : dash,
    flood ? compact(flood.framesEchoed) : dash,
    quiet ? dash : compact(phase.counters.websocketFramesDropped ?? 0),
    cpu(phase.cpu.app),
    cpu(phase.cpu.bench),
    cpu(phase.cpu.flooder),
    cpu(phase.cpu.redis),
    cpu(phase.cpu.machine),
    cpu(phase.cpu.others),
  ];
}

export function formatFlood(outcomes: readonly FloodOutcome[]): string {
  const header = [
    'layer',
    'phase',
    'echoes/s',
    'of quiet',
    'p50 ms',
    'p99 ms',
    'p99 vs quiet',
    'longest wait ms',
    'flood sockets',
    'closed with',
    'first close ms',
    'pauses',
    'frames written',
    'frames through',
    'frames dropped',
    'app CPU',
    'bench CPU',
    'flooder CPU',
    'redis CPU',
    'machine',
    'others',
  ];
  const rows = outcomes.flatMap((o) =>
    o.error || !o.phases ? [[o.layer, 'FAILED']] : o.phases.map((phase) => floodRow(o.layer, phase)),
  );
  const lines = [
    `1. Flood from one client beside ${FLOOD_SETTINGS.bystanders} bystanders (echo app at the library's defaults, in a process of its own, worker in-process; bystanders: closed loop, 1 echo in flight each, round trips in ms (longest wait: the slowest round trip, or an echo still awaited at the phase's end); flooder: batches of ${integer(FLOOD_SETTINGS.framesPerWrite)} one-byte masked text frames, one socket.write each, as fast as its socket takes them; ${FLOOD_SETTINGS.phaseMs / 1000} s per phase on the same app and bystanders: without flood (ref), one flooding socket (not replaced once closed), the flooder reopening a socket each time one is closed; pauses, frames dropped: the interface's statistics over the phase; frames through: echoes the flooder got; CPU in % of one core)`,
    table(header, rows, 2),
  ];
  for (const o of outcomes) {
    if (o.error || !o.phases) continue;
    const closed = o.bystandersClosed ?? 0;
    lines.push(
      `goal, ${o.layer}: bystander sockets closed = 0: ${closed}${closed > 0 ? ` (${codes(o.bystanderCloseCodes)})` : ''} ${verdict(closed === 0)}`,
    );
    const [, single, reopening] = o.phases;
    const stalled = o.phases.filter((phase) => phase.longestWaitMs > STALL_MS);
    if (stalled.length > 0) {
      lines.push(
        `report, ${o.layer}: bystanders STALLED: ${stalled.map((phase) => `${phase.phase}: an echo waited ${(phase.longestWaitMs / 1000).toFixed(1)} s, app CPU ${cpu(phase.cpu.app)}`).join('; ')}`,
      );
    }
    lines.push(
      `report, ${o.layer}: bystander p99 with one flooding socket ${times(single.p99Ratio)} the p99 without (${latency(single.latencyMs.p99)} vs ${latency(o.phases[0].latencyMs.p99)} ms), with the flooder reopening ${times(reopening.p99Ratio)} (${latency(reopening.latencyMs.p99)} ms); echoes/s ${ratio(single.rateRatio)} and ${ratio(reopening.rateRatio)} of those without (no goal)`,
    );
  }
  for (const o of outcomes) if (o.error) lines.push(`${o.layer}: FAILED: ${o.error}`);
  return lines.join('\n');
}

export function formatBodies(outcomes: readonly BodyOutcome[]): string {
  const header = [
    'layer',
    'answered',
    'client read',
    'in s',
    'baseline RSS',
    'peak RSS',
    'growth',
    'goal',
    'after',
    'after GC',
    'held peak',
    'external base',
    'external peak',
    'redis base',
    'redis peak',
    'redis growth',
    'redis after',
    'client sent',
  ];
  const rows = outcomes.map((o) => {
    if (o.error || o.growth === undefined) return [o.layer, 'FAILED'];
    const redis = o.redisMemory;
    return [
      o.layer,
      codes(o.serverAnswers),
      codes(o.statuses),
      o.durationMs === undefined ? '—' : (o.durationMs / 1000).toFixed(1),
      mib(o.baselineRss),
      mib(o.peakRss),
      mib(o.growth),
      `≤${BODY_SETTINGS.goalGrowthBytes / MIB} ${verdict(o.goalMet === true)}`,
      mib(o.afterRss),
      mib(o.afterRssGc),
      mib(o.bodyBytesHeldPeak),
      mib(o.baselineExternal),
      mib(o.memoryPeaks?.external),
      mib(redis?.baseline),
      mib(redis?.peak),
      mib(redis?.growth),
      mib(redis?.after),
      mib(o.bytesWritten),
    ];
  });
  const lines = [
    `2. ${BODY_SETTINGS.requests} × ${BODY_SETTINGS.bodyBytes / MIB} MiB request bodies nobody reads (an http.request consumer that never reads its body channel nor answers; interface.http.timeout ${BODY_APP_TIMEOUT_S} s, the rest at the defaults (bodyBuffer 8 MiB, bodyWindow 1 MiB); the app in a process of its own; the bench streams the ${BODY_SETTINGS.requests} bodies at once, one connection each, and keeps them open until answered; MiB: the app's RSS after a warm-up and 3 forced GCs (baseline), the highest sampled every ${BODY_SETTINGS.sampleMs} ms (peak), growth = peak − baseline, ${BODY_SETTINGS.settleMs / 1000} s after the last answer (after, and after GC); held peak: the highest httpBodyBytesHeld; external: process.memoryUsage().external (Buffers) at the baseline and at its highest; redis: used_memory; client sent: body bytes the client got into its sockets; answered: the interface's answers (its 503/408/413/429 counters), status ×count; client read: what the client read (EPIPE, ECONNRESET: the server closed the connection after answering while the body was still being written); in s: first request → last answer)`,
    table(header, rows, 1),
  ];
  for (const o of outcomes) {
    if (o.error || o.growth === undefined) continue;
    lines.push(
      `goal, ${o.layer}: app RSS growth ≤ ${BODY_SETTINGS.goalGrowthBytes / MIB} MiB over its baseline: ${mib(o.growth)} MiB ${verdict(o.goalMet === true)}; every request answered: ${codes(o.serverAnswers)} ${verdict(Object.values(o.serverAnswers ?? {}).reduce((a, b) => a + b, 0) === BODY_SETTINGS.requests)}${o.redisMemory ? `; Redis used_memory +${mib(o.redisMemory.growth)} MiB at its peak (report)` : ''}`,
    );
  }
  for (const o of outcomes) if (o.error) lines.push(`${o.layer}: FAILED: ${o.error}`);
  return lines.join('\n');
}

const FAULT_NAMES = {
  stall: `SIGSTOP ${CHAT_SETTINGS.stall.forMs / 1000} s`,
  restart: 'SIGKILL + restart, empty',
} as const;

export function formatChat(outcomes: readonly ChatOutcome[]): string {
  const header = [
    'Redis fault',
    'sent',
    'not sent',
    'fully delivered',
    'lost',
    'accounted',
    'unaccounted',
    'goal',
    'deliveries expected',
    'delivered',
    'dupl.',
    'sockets closed',
    'reconnects',
    'delay p50 ms',
    'p99 ms',
    'max ms',
    'dropped, channel full',
    'layer unavailable',
    'chat back after',
  ];
  const rows = outcomes.map((o) => {
    const a = o.account;
    if (o.error || !a || !o.delayMs) return [FAULT_NAMES[o.fault], 'FAILED'];
    const goal =
      o.fault === 'stall'
        ? `lost 0, closed 0 ${verdict(a.lost === 0 && o.socketsClosed === 0)}`
        : `unaccounted 0 ${verdict(a.unaccounted === 0)}`;
    const back =
      o.fault === 'restart'
        ? `${o.chatWorksAgainMs === undefined ? 'never' : `${(o.chatWorksAgainMs / 1000).toFixed(2)} s`}`
        : '—';
    return [
      FAULT_NAMES[o.fault],
      integer(a.sent),
      integer(a.notSent),
      integer(a.fullyDelivered),
      integer(a.lost),
      integer(a.lostAccounted),
      integer(a.unaccounted),
      goal,
      integer(o.expectedDeliveries ?? 0),
      integer(o.delivered ?? 0),
      integer(o.duplicates ?? 0),
      o.socketsClosed ? `${o.socketsClosed} (${codes(o.closeCodes)})` : '0',
      integer(o.reconnects ?? 0),
      ms(o.delayMs.p50),
      ms(o.delayMs.p99),
      ms(o.delayMs.max),
      integer(o.channelFull?.['interface.*'] ?? 0),
      `${o.layerUnavailable?.interface ?? '—'} / ${o.layerUnavailable?.worker ?? '—'}`,
      back,
    ];
  });
  const lines = [
    `3–4. A ${CHAT_SETTINGS.users}-user chat on Redis while redis-server fails (its own redis-server; the chat's interface and worker processes at the library's defaults; each socket joins one group on connect and leaves it on disconnect, each frame is sent to the group; each user says a line every ${CHAT_SETTINGS.intervalMs} ms for ${(CHAT_SETTINGS.lines * CHAT_SETTINGS.intervalMs) / 1000} s; stall: SIGSTOP ${CHAT_SETTINGS.stall.atMs / 1000} s in, SIGCONT ${CHAT_SETTINGS.stall.forMs / 1000} s later; restart: SIGKILL ${CHAT_SETTINGS.restart.atMs / 1000} s in and started again at once on the same port, empty; users reconnect 0.25–0.5 s after a close and rejoin. sent: lines sent on an open socket; not sent: lines due while the user had no socket; fully delivered: lines every user heard; lost: lines not heard by every user; accounted: every miss explained (the listener's socket was closed by the server after the line was sent, or it had none then; or nobody heard it and the sender's socket was closed after sending it); unaccounted: a listener whose socket stayed open missed it; deliveries expected = sent × ${CHAT_SETTINGS.users}, delivered: lines heard, all users together; delay: said → heard, every delivery; dropped, channel full: group deliveries the layer dropped because the interface's channel was full (channel_full_count of its reply channel; after the restart, counted from the restart); layer unavailable: layer_unavailable_count of the interface / worker process; chat back after: from the kill until every line said from then on reached every user)`,
    table(header, rows, 1),
  ];
  for (const o of outcomes) {
    const a = o.account;
    if (o.error || !a) continue;
    if (o.fault === 'stall') {
      lines.push(
        `goal, stall: lines lost = 0: ${integer(a.lost)} (${integer(a.missedDeliveries)} deliveries missed; per user ${integer(o.perUser?.min ?? 0)}–${integer(o.perUser?.max ?? 0)} of ${integer(a.sent)} lines heard) ${verdict(a.lost === 0)}; sockets closed = 0: ${o.socketsClosed ?? 0}${o.socketsClosed ? ` (${codes(o.closeCodes)})` : ''} ${verdict(o.socketsClosed === 0)}; longest delay ${ms(o.delayMs?.max ?? NaN)} ms for a ${CHAT_SETTINGS.stall.forMs / 1000} s stall (report)`,
      );
    } else {
      const back = o.allReconnectedMs === undefined ? 'not all' : `${(o.allReconnectedMs / 1000).toFixed(2)} s`;
      lines.push(
        `goal, restart: lines lost unaccounted = 0: ${integer(a.unaccounted)} (${integer(a.unaccountedMisses)} deliveries) ${verdict(a.unaccounted === 0)}; lost and accounted ${integer(a.lostAccounted)} of ${integer(a.sent)} sent (${integer(a.missedDeliveries)} deliveries); every user reconnected ${back} after the kill; chat back ${o.chatWorksAgainMs === undefined ? 'never' : `${(o.chatWorksAgainMs / 1000).toFixed(2)} s`} after it (report)`,
      );
    }
    if (o.lostSpan) {
      const at = (value: number): string => (value / 1000).toFixed(1);
      lines.push(
        `${o.fault}: the lost lines were said ${at(o.lostSpan.firstMs)}–${at(o.lostSpan.lastMs)} s in (the fault: ${at(o.faultAtMs ?? NaN)}–${at(o.faultEndMs ?? NaN)} s); ${integer(o.lostSpan.heardByNobody)} heard by nobody; channel_full_count: ${
          Object.entries(o.channelFull ?? {})
            .map(([channel, n]) => `${channel} ${integer(n)}`)
            .join(', ') || 'none'
        }`,
      );
    }
    if (o.failedOpens) lines.push(`${o.fault}: ${o.failedOpens} handshakes failed (first: ${o.firstOpenError})`);
    const moved = Object.entries(o.counters ?? {}).map(([key, value]) => `${key} ${integer(value)}`);
    if (moved.length > 0) lines.push(`${o.fault}: interface statistics: ${moved.join(', ')}`);
  }
  for (const o of outcomes) if (o.error) lines.push(`${FAULT_NAMES[o.fault]}: FAILED: ${o.error}`);
  return lines.join('\n');
}
