// Scenarios 3 and 4: a 50-user chat on the Redis layer while its Redis fails. Each scenario starts
// its own redis-server on a spare port, the chat's interface and worker processes
// (bench/faults/app.ts chat-interface, chat-worker) and 50 users in the bench process
// (bench/faults/chat-users.ts), each saying a line every 250 ms for 10 s. The chat sends every line
// to the group all sockets joined on connect.
//   stall:   2.5 s in, redis-server is stopped (SIGSTOP) for 5 s, then continued (SIGCONT).
//   restart: 3 s in, redis-server is killed (SIGKILL) and started again on the same port, empty.
//            The interface should close its sockets with 1012; users reconnect and rejoin.
// Then every line is accounted for (see `account`).
import { serverPid, startRedisServer, type SpawnedRedis } from '../../test/support/redis-server';
import { describe, sleep, withDeadline } from '../connections/waits';
import type { LatencySummary } from '../stats';
import { ChatRun, type SocketLife } from './chat-users';
import { counterDelta, startApp, type AppProcess } from './helpers';
import { connect, disconnect } from '../targets';
import { FAULTS_PREFIX, type StatisticsReply } from './protocol';

export const CHAT_SETTINGS = {
  users: 50,
  intervalMs: 250,
  /** Lines per user: 10 s of talk. */
  lines: 40,
  stall: { atMs: 2500, forMs: 5000 },
  restart: { atMs: 3000 },
  /**
   * The run ends once every line was heard by every user, or none has been heard for this long
   * after the last was said: in the stall nothing should be lost, so a late line is waited for long
   * (past the outage buffer's 10 s maxAge); after the restart lines are lost for good.
   */
  quietMs: { stall: 12_000, restart: 3000 },
  drainMaxMs: 20_000,
};
const RUN_DEADLINE_MS = 90_000;

export type ChatFault = 'stall' | 'restart';

/** What became of the lines said, after the accounting. */
export interface ChatAccount {
  /** Lines sent (on an open socket). */
  sent: number;
  /** Lines a user wanted to say while it had no open socket (between a close and its reconnect). */
  notSent: number;
  /** Heard by all users. */
  fullyDelivered: number;
  /** Not heard by every user. */
  lost: number;
  /** Lost lines whose every miss is explained: the listener's socket was closed by the server (or dropped) after the line was sent, or the listener had no socket then, or nobody heard it and the sender's socket was closed after it was sent. */
  lostAccounted: number;
  /** Lost lines with a miss nothing explains: a listener whose socket stayed open heard nothing. Goal 0. */
  unaccounted: number;
  /** (line, listener) pairs missed, and those of them nothing explains. */
  missedDeliveries: number;
  unaccountedMisses: number;
}

export interface ChatOutcome {
  fault: ChatFault;
  error?: string;
  users?: number;
  account?: ChatAccount;
  /** sent × users, and what was heard. */
  expectedDeliveries?: number;
  delivered?: number;
  duplicates?: number;
  /** Lines heard per user, fewest and most (of `sent`). */
  perUser?: { min: number; max: number };
  /** Said → heard, ms, every delivery. */
  delayMs?: LatencySummary;
  /** Sockets the server closed (or that dropped) while the chat ran, by close code. */
  socketsClosed?: number;
  closeCodes?: Record<string, number>;
  /** Sockets opened after the first ones (reconnects), handshakes that failed. */
  reconnects?: number;
  failedOpens?: number;
  firstOpenError?: string;
  /** Milliseconds from the start of the talk: the fault, its end (SIGCONT; Redis answering again after the restart). */
  faultAtMs?: number;
  faultEndMs?: number;
  /** Restart: ms after the kill until every user had a socket again, and until every line said from then on reached every user. */
  allReconnectedMs?: number;
  chatWorksAgainMs?: number;
  /** Lost lines said after the fault ended (restart: after Redis answered again). */
  lostAfterRecovery?: number;
  /** When the lost lines were said (ms from the start of the talk), and how many nobody heard. */
  lostSpan?: { firstMs: number; lastMs: number; heardByNobody: number };
  /** The first lost lines (at most 20): who said them, when (ms from the start of the talk), how many heard them. */
  lostLines?: Array<{ user: number; seq: number; atMs: number; heard: number; senderClosed?: number }>;
  /**
   * channel_full_count of the layer's channels (per-channel counters in Redis, `stats:<base>`), by
   * channel: on `interface.*` (the interface's reply channel) each is a group delivery dropped
   * because the channel was full (group sends drop, as ASGI says); on `websocket.receive` a frame
   * that waited for room in the interface. After the restart they count from the restart only.
   */
  channelFull?: Record<string, number>;
  /** layer_unavailable_count of each process's layer (sends refused with LayerUnavailable). */
  layerUnavailable?: { interface: number; worker: number };
  /** Interface counters that moved while the chat ran. */
  counters?: Record<string, number>;
}

/** redis-servers this section started itself, stopped at the end, on failure and on signals (continued first). */
const ownRedis = new Set<SpawnedRedis>();
/** The pid of a redis-server stopped with SIGSTOP right now. */
let stoppedPid: number | undefined;

function continueStopped(): void {
  if (stoppedPid === undefined) return;
  try {
    process.kill(stoppedPid, 'SIGCONT');
  } catch {
    // gone already
  }
  stoppedPid = undefined;
}

/** Continues a stopped redis-server and stops every one this section started (for signals and the section's end). */
export async function releaseOwnRedis(): Promise<void> {
  continueStopped();
  const all = [...ownRedis];
  ownRedis.clear();
  await Promise.allSettled(all.map((redis) => redis.stop()));
}

const serverClosed = (socket: SocketLife): boolean => socket.closedAt !== undefined && !socket.byUs;

/**
 * Every line sent, heard by all users or not; each miss (a line a user did not hear) is explained
 * when the listener had no open socket when it was said, or its socket then was closed by the
 * server (1012, 1013) or dropped afterwards, or when nobody heard the line and the sender's socket
 * was closed so after it was said (the line went with that socket or with Redis's data). A miss
 * on a listener whose socket stayed open is not explained.
 */
export function account(run: ChatRun): ChatAccount {
  const byUser = new Map<number, SocketLife[]>();
  for (const socket of run.sockets) {
    const list = byUser.get(socket.user) ?? [];
    list.push(socket);
    byUser.set(socket.user, list);
  }
  const socketAt = (user: number, at: number): SocketLife | undefined =>
    byUser.get(user)?.find((s) => s.openedAt <= at && (s.closedAt === undefined || s.closedAt > at));
  const result: ChatAccount = {
    sent: run.lines.length,
    notSent: run.notSent,
    fullyDelivered: 0,
    lost: 0,
    lostAccounted: 0,
    unaccounted: 0,
    missedDeliveries: 0,
    unaccountedMisses: 0,
  };
  for (const line of run.lines) {
    if (line.heard === run.userCount) {
      result.fullyDelivered++;
      continue;
    }
    result.lost++;
    const sender = run.sockets[line.socket];
    const wentWithSender = line.heard === 0 && serverClosed(sender);
    let unexplained = 0;
    for (let listener = 0; listener < run.userCount; listener++) {
      if (line.heardBy[listener]) continue;
      result.missedDeliveries++;
      if (wentWithSender) continue;
      const socket = socketAt(listener, line.sentAt);
      if (!socket || serverClosed(socket)) continue;
      unexplained++;
    }
    result.unaccountedMisses += unexplained;
    if (unexplained > 0) result.unaccounted++;
    else result.lostAccounted++;
  }
  return result;
}

/** Waits until every line sent was heard by everyone, or none was heard for `quietMs`, or the limit. */
async function drain(run: ChatRun, talkEnd: number, quietMs: number): Promise<void> {
  const limit = talkEnd + CHAT_SETTINGS.drainMaxMs;
  while (performance.now() < limit) {
    if (run.heard >= run.lines.length * run.userCount) return;
    const quietSince = Math.max(run.lastHeardAt, talkEnd);
    if (performance.now() - quietSince > quietMs) return;
    await sleep(100);
  }
}

/** Stops redis-server for `forMs` from `at` (performance.now()); continued in any case. */
async function stall(redis: SpawnedRedis, at: number): Promise<{ faultAt: number; faultEnd: number }> {
  const pid = await serverPid(redis.url);
  await sleep(at - performance.now());
  stoppedPid = pid;
  process.kill(pid, 'SIGSTOP');
  const faultAt = performance.now();
  try {
    await sleep(CHAT_SETTINGS.stall.forMs);
  } finally {
    continueStopped();
  }
  return { faultAt, faultEnd: performance.now() };
}

/** Kills redis-server at `at` and starts it again on the same port, empty. */
async function restart(redis: SpawnedRedis, at: number): Promise<{ faultAt: number; faultEnd: number }> {
  await sleep(at - performance.now());
  const faultAt = performance.now();
  await redis.kill();
  await redis.start();
  return { faultAt, faultEnd: performance.now() };
}

function lostSpan(chat: ChatRun, startAt: number): Pick<ChatOutcome, 'lostSpan'> {
  const lost = chat.lines.filter((line) => line.heard < chat.userCount);
  if (lost.length === 0) return {};
  return {
    lostSpan: {
      firstMs: lost[0].sentAt - startAt,
      lastMs: lost[lost.length - 1].sentAt - startAt,
      heardByNobody: lost.filter((line) => line.heard === 0).length,
    },
  };
}

/** channel_full_count of every channel with one, from the layer's `stats:<base>` hashes; reply channels summed as `interface.*`. */
async function channelFullCounts(url: string): Promise<Record<string, number>> {
  const admin = connect(url);
  try {
    const counts: Record<string, number> = {};
    const keys = await admin.keys(`${FAULTS_PREFIX}stats:*`);
    for (const key of keys) {
      const full = Number(await admin.hget(key, 'channel_full_count'));
      if (!full) continue;
      const base = key.slice(`${FAULTS_PREFIX}stats:`.length);
      const name = base.startsWith('interface.') ? 'interface.*' : base;
      counts[name] = (counts[name] ?? 0) + full;
    }
    return counts;
  } finally {
    await disconnect(admin);
  }
}

function layerUnavailable(reply: StatisticsReply): number {
  return reply.layer?.layer_unavailable_count ?? NaN;
}

async function run(fault: ChatFault): Promise<ChatOutcome> {
  const redis = await startRedisServer();
  ownRedis.add(redis);
  let apps: AppProcess[] = [];
  let chat: ChatRun | undefined;
  try {
    const started = await Promise.allSettled([
      startApp('chat-interface', redis.url),
      startApp('chat-worker', redis.url, { listen: false }),
    ]);
    apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [server, worker] = apps;
    chat = new ChatRun(server.wsUrl, CHAT_SETTINGS.users, fault === 'restart');
    await chat.open();
    await sleep(500);
    const before = await server.statistics();
    const firstSockets = chat.sockets.length;

    const startAt = performance.now() + 100;
    const talking = chat.talk(startAt, CHAT_SETTINGS.intervalMs, CHAT_SETTINGS.lines);
    const faulting =
      fault === 'stall'
        ? stall(redis, startAt + CHAT_SETTINGS.stall.atMs)
        : restart(redis, startAt + CHAT_SETTINGS.restart.atMs);
    const [, { faultAt, faultEnd }] = await Promise.all([talking, faulting]);
    const talkEnd = performance.now();
    await drain(chat, talkEnd, CHAT_SETTINGS.quietMs[fault]);
    const account_ = account(chat);
    const channelFull = await channelFullCounts(redis.url);
    const sockets = chat.sockets.filter(serverClosed);
    await chat.close();
    const [afterServer, afterWorker] = await Promise.all([server.statistics(), worker.statistics()]);

    const closeCodes: Record<string, number> = {};
    for (const socket of sockets) closeCodes[String(socket.code)] = (closeCodes[String(socket.code)] ?? 0) + 1;
    const heardPerUser = Array.from({ length: chat.userCount }, () => 0);
    for (const line of chat.lines) for (let u = 0; u < chat.userCount; u++) heardPerUser[u] += line.heardBy[u];
    // Restart: when every user had a socket again, and from when on every line reached every user.
    const reopened = Array.from({ length: chat.userCount }, (_, user) => {
      const lives = chat!.sockets.filter((s) => s.user === user);
      const closedInFault = lives.some((s) => serverClosed(s) && s.closedAt! >= faultAt);
      return closedInFault ? Math.min(...lives.filter((s) => s.openedAt > faultAt).map((s) => s.openedAt)) : faultAt;
    });
    const lastLost = [...chat.lines].reverse().find((line) => line.heard < chat!.userCount);
    const worksAgain = lastLost
      ? chat.lines.find((line) => line.sentAt > lastLost.sentAt && line.heard === chat!.userCount)
      : chat.lines.find((line) => line.sentAt > faultAt);
    const lostAfterRecovery = chat.lines.filter((l) => l.sentAt > faultEnd && l.heard < chat!.userCount).length;
    return {
      fault,
      users: chat.userCount,
      account: account_,
      expectedDeliveries: account_.sent * chat.userCount,
      delivered: chat.heard,
      duplicates: chat.duplicates,
      perUser: { min: Math.min(...heardPerUser), max: Math.max(...heardPerUser) },
      delayMs: chat.delays.summary(),
      socketsClosed: sockets.length,
      closeCodes,
      reconnects: chat.sockets.length - firstSockets,
      failedOpens: chat.failedOpens,
      ...(chat.firstOpenError ? { firstOpenError: chat.firstOpenError } : {}),
      faultAtMs: faultAt - startAt,
      faultEndMs: faultEnd - startAt,
      ...(fault === 'restart'
        ? {
            ...(Number.isFinite(Math.max(...reopened)) ? { allReconnectedMs: Math.max(...reopened) - faultAt } : {}),
            ...(worksAgain ? { chatWorksAgainMs: worksAgain.sentAt - faultAt } : {}),
          }
        : {}),
      lostAfterRecovery,
      ...lostSpan(chat, startAt),
      lostLines: chat.lines
        .filter((line) => line.heard < chat!.userCount)
        .slice(0, 20)
        .map((line) => {
          const sender = chat!.sockets[line.socket];
          return {
            user: line.user,
            seq: line.seq,
            atMs: line.sentAt - startAt,
            heard: line.heard,
            ...(sender.closedAt !== undefined && !sender.byUs ? { senderClosed: sender.code } : {}),
          };
        }),
      channelFull,
      layerUnavailable: { interface: layerUnavailable(afterServer), worker: layerUnavailable(afterWorker) },
      counters: counterDelta(before.interface, afterServer.interface),
    };
  } finally {
    await chat?.close().catch(() => undefined);
    await Promise.allSettled(apps.map((app) => app.stop()));
    continueStopped();
    ownRedis.delete(redis);
    await redis.stop();
  }
}

/** Runs one chat scenario; a failure is reported in the outcome. */
export async function runChat(fault: ChatFault): Promise<ChatOutcome> {
  process.stderr.write(`faults: chat, Redis ${fault}\n`);
  try {
    return await withDeadline(run(fault), RUN_DEADLINE_MS, `the chat scenario (${fault})`);
  } catch (error) {
    process.stderr.write(`faults: chat, Redis ${fault} FAILED: ${describe(error)}\n`);
    return { fault, error: describe(error) };
  }
}
