import { Logger } from '@nestjs/common';
import { resolve as resolvePath } from 'node:path';
import type {
  GroupsChannelLayer,
  LayerExtension,
  LayerStatistics,
  ReceiveManyOptions,
  ReceiveOptions,
  ReceiveResult,
} from '../channel-layer';
import type { ChannelMessage } from '../channel-message';
import { MessagePackCodec } from '../message-pack';
import { ChannelFull, ChannelLayerClosed, LayerUnavailable, MessageTooLarge } from '../errors';
import {
  assertMax,
  receiveWaitMs,
  resolveLayerOptions,
  type ChannelLayerOptions,
  type ResolvedLayerOptions,
} from '../layer-options';
import {
  assertChannelName,
  assertGroupName,
  assertNewChannelPattern,
  assertReceiveChannels,
  nonLocalName,
  randomLetters,
} from '../names';
import { Doorbell } from './doorbell';
import { IpcStore, isBusyError } from './ipc-store';
import type { SqliteDriverName } from './sqlite-driver';

/*
 * Design (feature F5): several processes of one machine share channels and groups through one
 * SQLite database file in WAL mode; there is no server to run.
 *
 * - Storage. `messages(id, queue, channel, sent_at, expires_at, payload)` with an index on
 *   `queue`: `queue` is the non-local name (`prefix!` for every `prefix!local`), `channel` the full
 *   name a receive reports. `id` is the rowid: a new row always gets an id above every row present,
 *   which is all per-queue order needs (AUTOINCREMENT would add a write per insert for nothing).
 *   Payloads are MessagePack as in the Redis layer (bytes stay bytes), so `maxMessageSize` means
 *   the same bytes. `group_members(grp, channel, expires_at)` holds memberships with their
 *   own expiry; `channel_stats` the statistics counters, shared by every process.
 * - Atomicity. Every change is one `BEGIN IMMEDIATE` transaction: the write lock is taken first,
 *   the capacity count and the insert happen under it (no overshoot however many processes send),
 *   and a receive reads the head of a queue and deletes through the last row it took under it
 *   (each message goes to one receiver: at most once, never twice). A process killed mid-
 *   transaction loses its uncommitted work only: the kernel drops its file locks, and the next
 *   connection rolls the WAL back to the last commit. No lock can stay held by a dead process.
 * - Batching and order. Sends made in the same tick go in one transaction (as the Redis layer's
 *   SEND_MANY); `sendMany` is one transaction, `receiveMany` takes up to `max` in one. Writes commit
 *   in call order: the tick's pending sends go before any later write (a receive included), and
 *   while one write waits for the lock the later ones queue behind it.
 * - Durability. `synchronous=NORMAL`: a commit is a write to the WAL without fsync, so a process
 *   crash loses nothing committed; an OS crash or power cut may lose the last commits (messages
 *   that live `expiry` seconds anyway). Statements are prepared once per connection.
 * - Reuse. The tables are created IF NOT EXISTS under a `schema_version` row: a store left by a
 *   crashed run is simply used (its messages expire as usual); a store of another version, or a
 *   file that is not a store, is refused at construction with `IpcStoreError` saying what to do.
 * - Expiry. `expires_at` is an absolute time (all processes share the machine clock). Expired rows
 *   are skipped and deleted when a receive meets them at a queue's head, when a send finds the
 *   queue full, when a group send reaches a member, and by a sweep in each process (every
 *   expiry/2, between 1 and 30 s, a read when there is nothing to delete). A channel whose message
 *   expired leaves all its groups, as in the other layers.
 * - Waking. A blocked receive costs nothing while it waits: each process watches a doorbell file
 *   beside the store (`<path>-bell`) with `fs.watch` (inotify on Linux), and a process that
 *   queued messages writes one byte to it once its COMMIT has returned, so a send anywhere wakes the
 *   waiting processes within their event loop's next turn. (Watching the `-wal` file instead costs
 *   senders nothing but is wrong: SQLite writes the WAL frames before the commit becomes visible,
 *   so a fast reader woken by them can look too early and miss the message.) Wake-ups of one turn
 *   are coalesced into one check: a read (no lock) of whether the waited-for queues hold anything,
 *   then one transaction that serves every blocked receive of the process, oldest first. A send of
 *   this process checks at once, without the round trip through the kernel. In case a wake-up is
 *   missed (a file system without inotify, such as NFS; the bell deleted), blocked receives are
 *   re-checked every `pollInterval` (default 1.5 s).
 * - Lock waits. Transactions hold the write lock for microseconds, so SQLite is told not to wait
 *   for it (its busy handler sleeps 1 ms at least, with the event loop blocked): a call that finds
 *   it taken retries on the event loop's next turns, then on 1–5 ms timers. A process stopped while
 *   holding it (SIGSTOP, a debugger) stalls the others' calls for at most `lockTimeout` (default
 *   10 s), which then fail with `LayerUnavailable`, and never freezes their event loops.
 * - Driver. `node:sqlite` where Node has it unflagged (Node >= 22.13), else `better-sqlite3` v12.
 */

/** Options of `IpcChannelLayer`. Times are in seconds. */
export interface IpcChannelLayerOptions extends ChannelLayerOptions {
  /**
   * The store's database file, shared by every process of the app (created with mode 0600, and its
   * folder if needed; its `-wal`, `-shm` and `-bell` files sit beside it). Required, so two apps never share one by accident:
   * e.g. `join(os.tmpdir(), 'my-app.channels.db')`. Must be on a local file system.
   */
  path: string;
  /** Seconds a call retries while another process holds the write lock, before `LayerUnavailable`. Default 10. */
  lockTimeout?: number;
  /** Seconds between re-checks of blocked receives, in case a file event was missed. Default 1.5. */
  pollInterval?: number;
  /** SQLite driver: `node:sqlite` when Node has it, else `better-sqlite3`. For tests. */
  driver?: SqliteDriverName;
}

interface PendingSend {
  channel: string;
  payload: Buffer;
  settle: (sent: boolean) => void;
  fail: (error: unknown) => void;
}

interface TakenRow {
  channel: string;
  payload: Buffer;
}

/** A blocked `receive`/`receiveMany`. */
interface Waiter {
  channels: readonly string[];
  max: number;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve(rows: TakenRow[]): void;
}

const DEFAULT_LOCK_TIMEOUT = 10;
const DEFAULT_POLL_INTERVAL = 1.5;
/** Back-off between attempts at a write lock another process holds. */
const BUSY_RETRY_MS = 5;
/** Attempts at the lock retried on the next turn of the event loop before backing off with timers. */
const IMMEDIATE_RETRIES = 8;

/** Waits before the `attempt`-th retry (0-based): the next turn first (locks are held for µs), then a few ms. */
function backOff(attempt: number): Promise<void> {
  if (attempt < IMMEDIATE_RETRIES) return new Promise((done) => setImmediate(done));
  return sleep(1 + Math.random() * Math.min(BUSY_RETRY_MS, attempt - IMMEDIATE_RETRIES + 1));
}

function positiveSeconds(value: unknown, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved <= 0) {
    throw new TypeError(`${name} must be a positive number of seconds, got ${String(value)}`);
  }
  return resolved;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('a stored payload is not a blob');
}

/**
 * Channels shared by the processes of one machine through an SQLite file: no server to run.
 * See the design notes above; `IpcChannelLayerOptions.path` names the store.
 */
export class IpcChannelLayer implements GroupsChannelLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush', 'statistics', 'batch'];
  readonly expiry: number;
  readonly groupExpiry: number;
  readonly capacity: number;
  readonly maxMessageSize: number;
  readonly ChannelFull = ChannelFull;
  readonly MessageTooLarge = MessageTooLarge;
  readonly LayerUnavailable = LayerUnavailable;
  /** The store's file, absolute. */
  readonly path: string;

  private readonly options: ResolvedLayerOptions;
  private readonly expiryMs: number;
  private readonly groupExpiryMs: number;
  private readonly lockTimeoutMs: number;
  private readonly store: IpcStore;
  private readonly codec: MessagePackCodec;
  private readonly logger = new Logger(IpcChannelLayer.name);
  private outgoing: PendingSend[] | undefined;
  /** The last write waiting for the lock (another process held it): later writes queue behind it. */
  private tail: Promise<unknown> | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly doorbell: Doorbell;
  private readonly safetyNet: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private checkScheduled = false;
  private checkRetry: NodeJS.Timeout | undefined;
  private checkRetries = 0;
  private droppedMessages = 0;
  private closed = false;

  constructor(options: IpcChannelLayerOptions) {
    if (typeof options !== 'object' || options === null || typeof options.path !== 'string' || !options.path) {
      throw new TypeError(
        'IpcChannelLayer needs `path`: the database file its processes share, ' +
          "e.g. new IpcChannelLayer({ path: join(os.tmpdir(), 'my-app.channels.db') })",
      );
    }
    this.options = resolveLayerOptions(options);
    this.expiry = this.options.expiry;
    this.groupExpiry = this.options.groupExpiry;
    this.capacity = this.options.capacity;
    this.maxMessageSize = this.options.maxMessageSize;
    this.expiryMs = Math.ceil(this.expiry * 1000);
    this.groupExpiryMs = Math.ceil(this.groupExpiry * 1000);
    this.lockTimeoutMs = positiveSeconds(options.lockTimeout, DEFAULT_LOCK_TIMEOUT, 'lockTimeout') * 1000;
    const pollMs = positiveSeconds(options.pollInterval, DEFAULT_POLL_INTERVAL, 'pollInterval') * 1000;
    if (options.driver !== undefined && options.driver !== 'node:sqlite' && options.driver !== 'better-sqlite3') {
      throw new TypeError(`driver must be 'node:sqlite' or 'better-sqlite3', got ${String(options.driver)}`);
    }
    this.codec = new MessagePackCodec(this.maxMessageSize);
    this.path = resolvePath(options.path);
    this.store = IpcStore.open(this.path, options.driver);
    try {
      this.doorbell = new Doorbell(
        `${this.path}-bell`,
        () => this.scheduleCheck(),
        (error) =>
          this.logger.warn(
            `Cannot watch ${this.path}-bell (${error.message}): blocked receives will notice messages from ` +
              'other processes at each pollInterval only',
          ),
      );
    } catch (error) {
      this.store.close();
      throw error;
    }
    this.safetyNet = setInterval(() => {
      this.doorbell.tend();
      this.check();
    }, pollMs);
    this.safetyNet.unref();
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(1000, this.expiryMs / 2)));
    this.sweeper.unref();
  }

  /** The SQLite driver in use: `node:sqlite` or `better-sqlite3`. */
  get driver(): SqliteDriverName {
    return this.store.driver;
  }

  async send(channel: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertChannelName(channel);
    const payload = this.codec.encode(message);
    const sent = await new Promise<boolean>((settle, fail) => {
      if (!this.outgoing) {
        this.outgoing = [];
        queueMicrotask(() => this.flushSends());
      }
      this.outgoing.push({ channel, payload, settle, fail });
    });
    if (!sent) throw new ChannelFull(channel);
  }

  async sendMany(messages: ReadonlyArray<readonly [string, ChannelMessage]>): Promise<boolean[]> {
    this.assertOpen();
    // Every message is checked and encoded before any is stored: a bad one sends nothing.
    const encoded = messages.map(([channel, message]) => {
      assertChannelName(channel);
      return { channel, payload: this.codec.encode(message) };
    });
    if (encoded.length === 0) return [];
    const results = await this.write((now) => this.insertAll(encoded, now));
    if (results.includes(true)) this.queued();
    return results;
  }

  /** The sends of one tick, in one transaction. */
  private flushSends(): void {
    const batch = this.outgoing;
    this.outgoing = undefined;
    if (!batch) return;
    this.write((now) => this.insertAll(batch, now)).then(
      (results) => this.settleSends(batch, results),
      (error: unknown) => batch.forEach((item) => item.fail(error)),
    );
  }

  private settleSends(batch: readonly PendingSend[], results: readonly boolean[]): void {
    if (results.includes(true)) this.queued();
    batch.forEach((item, i) => item.settle(results[i]));
  }

  /**
   * Inserts each message unless its queue is full (expired rows pruned first, so they free their
   * place). Inside a transaction; counts are kept per queue for the rest of the batch.
   */
  private insertAll(items: ReadonlyArray<{ channel: string; payload: Buffer }>, now: number): boolean[] {
    const counts = new Map<string, number>();
    const stats = new Map<string, [sent: number, full: number]>();
    const insert = this.store.stmt('insert');
    const expiresAt = now + this.expiryMs;
    const results = items.map(({ channel, payload }) => {
      const queue = nonLocalName(channel);
      const capacity = this.options.capacities.capacityOf(queue);
      let count = counts.get(queue);
      if (count === undefined) {
        count = this.queueLength(queue);
        if (count >= capacity) count -= this.pruneQueue(queue, now);
      }
      let stat = stats.get(queue);
      if (!stat) stats.set(queue, (stat = [0, 0]));
      if (count >= capacity) {
        counts.set(queue, count);
        stat[1]++;
        return false;
      }
      insert.run(queue, channel, now, expiresAt, payload);
      counts.set(queue, count + 1);
      stat[0]++;
      return true;
    });
    const statsAdd = this.store.stmt('statsAdd');
    for (const [queue, [sent, full]] of stats) statsAdd.run(queue, sent, full);
    return results;
  }

  async receive(channels: readonly string[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    const rows = await this.take(channels, 1, waitMs, options.signal);
    for (const row of rows) {
      const message = this.decode(row);
      if (message) return [row.channel, message];
    }
    return [null, null];
  }

  async receiveMany(
    channels: readonly string[],
    options: ReceiveManyOptions,
  ): Promise<Array<[string, ChannelMessage]>> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const max = assertMax(options.max);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    const taken: Array<[string, ChannelMessage]> = [];
    for (const row of await this.take(channels, max, waitMs, options.signal)) {
      const message = this.decode(row);
      if (message) taken.push([row.channel, message]);
    }
    return taken;
  }

  /** Up to `max` rows now, else (when `waitMs` > 0) the first that arrive before it passes. */
  private async take(
    channels: readonly string[],
    max: number,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<TakenRow[]> {
    const unique = channels.length > 1 ? [...new Set(channels)] : channels;
    const sends = this.outgoing;
    this.outgoing = undefined;
    if (sends || this.anyQueued(unique)) {
      // This tick's sends go first (in order, as their microtask would), in the pop's transaction.
      let sent: boolean[] = [];
      const rows = await this.write((now) => {
        if (sends) sent = this.insertAll(sends, now);
        return this.popFrom(unique, max, now);
      }).then(
        (taken) => {
          if (sends) this.settleSends(sends, sent);
          return taken;
        },
        (error: unknown) => {
          sends?.forEach((item) => item.fail(error));
          throw error;
        },
      );
      if (rows.length > 0 || this.closed) return rows;
    }
    if (waitMs <= 0 || signal?.aborted || this.closed) return [];
    return new Promise<TakenRow[]>((resolve) => {
      const waiter: Waiter = { channels: unique, max, timer: undefined, signal, onAbort: undefined, resolve };
      if (Number.isFinite(waitMs)) waiter.timer = setTimeout(() => this.endWait(waiter, []), waitMs);
      if (signal) {
        waiter.onAbort = () => this.endWait(waiter, []);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
      // While a receive waits, the safety net keeps the process alive (as a Redis BLPOP socket would).
      this.safetyNet.ref();
      // A message may have landed between the read above and now: look again on the next turn.
      this.scheduleCheck();
    });
  }

  private endWait(waiter: Waiter, rows: TakenRow[]): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (this.waiters.size === 0) this.safetyNet.unref();
    waiter.resolve(rows);
  }

  /** A lock-free read: does any of `queues` hold a row (live or not)? */
  private anyQueued(queues: Iterable<string>): boolean {
    const hasAny = this.store.stmt('hasAny');
    for (const queue of queues) if (hasAny.get(queue)) return true;
    return false;
  }

  /**
   * Takes up to `max` live rows from the heads of `channels` (starting at a random one, so a busy
   * channel cannot starve the others), deleting the expired rows met on the way; their channels
   * leave their groups. Inside a transaction.
   */
  private popFrom(channels: readonly string[], max: number, now: number): TakenRow[] {
    const taken: TakenRow[] = [];
    const expired: string[] = [];
    const head = this.store.stmt('head');
    const start = channels.length > 1 ? Math.floor(Math.random() * channels.length) : 0;
    const deleteThrough = this.store.stmt('deleteThrough');
    for (let i = 0; i < channels.length && taken.length < max; i++) {
      const queue = channels[(start + i) % channels.length];
      for (;;) {
        const want = max - taken.length;
        const rows = head.all(queue, want);
        let lastId = -1;
        for (const row of rows) {
          lastId = Number(row.id);
          if (Number(row.expires_at) <= now) expired.push(String(row.channel));
          else taken.push({ channel: String(row.channel), payload: toBuffer(row.payload) });
          if (taken.length >= max) break;
        }
        // Everything up to the last row looked at goes: taken, or expired.
        if (lastId !== -1) deleteThrough.run(queue, lastId);
        if (taken.length >= max || rows.length < want) break;
      }
    }
    this.forget(expired);
    return taken;
  }

  /** Channels whose messages expired leave every group. Inside a transaction. */
  private forget(channels: readonly string[]): void {
    if (channels.length === 0) return;
    const leave = this.store.stmt('leaveGroups');
    for (const channel of new Set(channels)) leave.run(channel);
  }

  private pruneQueue(queue: string, now: number): number {
    const expired = this.store.stmt('pruneQueue').all(queue, now);
    this.forget(expired.map((row) => String(row.channel)));
    return expired.length;
  }

  private queueLength(queue: string): number {
    return Number(this.store.stmt('count').get(queue)?.n ?? 0);
  }

  async newChannel(pattern: string): Promise<string> {
    this.assertOpen();
    assertNewChannelPattern(pattern);
    // 52^12 names: a collision is far less likely than a lost message, so no lookup.
    return pattern + randomLetters(12);
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.write((now) => this.store.stmt('groupAdd').run(group, channel, now + this.groupExpiryMs));
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.write(() => this.store.stmt('groupDiscard').run(group, channel));
  }

  async groupChannels(group: string): Promise<string[]> {
    this.assertOpen();
    assertGroupName(group);
    const now = Date.now();
    return this.store
      .stmt('groupMembers')
      .all(group, now)
      .map((row) => String(row.channel));
  }

  async sendGroup(group: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    const payload = this.codec.encode(message);
    const results = await this.write((now) => {
      this.store.stmt('groupPrune').run(group, now);
      const members = (): string[] =>
        this.store
          .stmt('groupMembers')
          .all(group, now)
          .map((row) => String(row.channel));
      let channels = members();
      // A member whose queued message expired has just left all its groups: it misses this one.
      let pruned = 0;
      for (const queue of new Set(channels.map(nonLocalName))) pruned += this.pruneQueue(queue, now);
      if (pruned > 0) channels = members();
      return this.insertAll(
        channels.map((channel) => ({ channel, payload })),
        now,
      );
    });
    if (results.includes(true)) this.queued();
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.write(() => {
      this.store.exec('DELETE FROM messages; DELETE FROM group_members; DELETE FROM channel_stats');
    });
  }

  async globalStatistics(): Promise<LayerStatistics> {
    this.assertOpen();
    const now = Date.now();
    const totals = this.store.stmt('statsTotal').get();
    const pending = this.store.stmt('pendingAll').get(now);
    const oldest = pending?.oldest;
    return {
      messages_count: Number(totals?.messages ?? 0),
      channel_full_count: Number(totals?.full ?? 0),
      messages_pending: Number(pending?.n ?? 0),
      messages_max_age: oldest === null || oldest === undefined ? 0 : Math.max(0, now - Number(oldest)) / 1000,
      messages_dropped_count: this.droppedMessages,
    };
  }

  async channelStatistics(channel: string): Promise<LayerStatistics> {
    this.assertOpen();
    assertChannelName(channel);
    const queue = nonLocalName(channel);
    const now = Date.now();
    const counters = this.store.stmt('statsOf').get(queue);
    const pending = this.store.stmt('pendingOf').get(queue, now);
    const oldest = pending?.oldest;
    return {
      messages_count: Number(counters?.messages_count ?? 0),
      channel_full_count: Number(counters?.channel_full_count ?? 0),
      messages_pending: Number(pending?.n ?? 0),
      messages_max_age: oldest === null || oldest === undefined ? 0 : Math.max(0, now - Number(oldest)) / 1000,
    };
  }

  /** Nothing to wait for: the store is a local file, opened by the constructor. */
  async waitUntilReady(): Promise<void> {
    this.assertOpen();
  }

  /** Ends blocked receives (`[null, null]`), lets sends in progress finish, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.safetyNet);
    clearInterval(this.sweeper);
    clearTimeout(this.checkRetry);
    this.doorbell.close();
    for (const waiter of [...this.waiters]) this.endWait(waiter, []);
    // Sends queued this tick are flushed by their microtask; wait for it and for retries in progress.
    await Promise.resolve();
    while (this.tail) await this.tail.catch(() => undefined);
    this.store.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ChannelLayerClosed();
  }

  /**
   * Runs `fn` in a write transaction, retrying from the event loop while another process holds
   * the lock (SQLite itself does not wait: busy timeout 0); `LayerUnavailable` after `lockTimeout`.
   */
  private write<T>(fn: (now: number) => T): Promise<T> {
    // Sends queued this tick were called before this write: they commit first.
    if (this.outgoing) this.flushSends();
    let attempt: Promise<T>;
    if (this.tail) {
      // A write is waiting for the lock: this one goes after it, so writes commit in call order.
      attempt = this.tail.then(
        () => this.writeNow(fn),
        () => this.writeNow(fn),
      );
    } else {
      try {
        return Promise.resolve(this.store.transaction(fn));
      } catch (error) {
        if (!isBusyError(error)) return Promise.reject(error);
        attempt = this.retryWrite(fn);
      }
    }
    const tail: Promise<unknown> = attempt;
    this.tail = tail;
    void tail.then(
      () => this.tail === tail && (this.tail = undefined),
      () => this.tail === tail && (this.tail = undefined),
    );
    return attempt;
  }

  private writeNow<T>(fn: (now: number) => T): Promise<T> {
    try {
      return Promise.resolve(this.store.transaction(fn));
    } catch (error) {
      return isBusyError(error) ? this.retryWrite(fn) : Promise.reject(error);
    }
  }

  private async retryWrite<T>(fn: (now: number) => T): Promise<T> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      await backOff(attempt);
      try {
        return this.store.transaction(fn);
      } catch (error) {
        if (!isBusyError(error)) throw error;
        if (Date.now() >= deadline) {
          throw new LayerUnavailable(
            this.path,
            'unreachable',
            `Another process has held the write lock of the IpcChannelLayer store ${this.path} for over ` +
              `${this.lockTimeoutMs / 1000} s (is one stopped or stuck?)`,
          );
        }
      }
    }
  }

  /** After a commit that queued messages: wake this process's receives and ring for the others. */
  private queued(): void {
    this.scheduleCheck();
    this.doorbell.ring();
  }

  /** Coalesces the wake-ups of one turn of the event loop into one check. */
  private scheduleCheck(): void {
    if (this.checkScheduled || this.closed || this.waiters.size === 0) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      this.check();
    });
  }

  /** Serves blocked receives, oldest first, in one transaction, when their queues hold anything. */
  private check(): void {
    if (this.closed || this.waiters.size === 0) return;
    const queues = new Set<string>();
    for (const waiter of this.waiters) for (const channel of waiter.channels) queues.add(channel);
    if (!this.anyQueued(queues)) return;
    let served: Array<[Waiter, TakenRow[]]>;
    try {
      served = this.store.transaction((now) => {
        const out: Array<[Waiter, TakenRow[]]> = [];
        for (const waiter of this.waiters) {
          const rows = this.popFrom(waiter.channels, waiter.max, now);
          if (rows.length > 0) out.push([waiter, rows]);
        }
        return out;
      });
    } catch (error) {
      if (!isBusyError(error)) this.logger.error(`Could not serve blocked receives: ${(error as Error).message}`);
      // Another process holds the lock (for µs, usually): try again on the next turn, then on a timer.
      if (this.checkRetries++ < IMMEDIATE_RETRIES) this.scheduleCheck();
      else {
        clearTimeout(this.checkRetry);
        this.checkRetry = setTimeout(() => this.check(), 1 + Math.random() * BUSY_RETRY_MS);
      }
      return;
    }
    this.checkRetries = 0;
    // Settled in the same turn as the commit: nothing (an abort, a timeout) can end them between.
    for (const [waiter, rows] of served) this.endWait(waiter, rows);
  }

  private decode(row: TakenRow): ChannelMessage | null {
    try {
      return this.codec.decode(row.payload);
    } catch (error) {
      this.droppedMessages++;
      this.logger.warn(`Dropped an unreadable message for ${row.channel}: ${(error as Error).message}`);
      return null;
    }
  }

  /** Deletes expired messages (their channels leave their groups) and expired memberships. */
  private sweep(): void {
    if (this.closed) return;
    const now = Date.now();
    try {
      // Reads first: a sweep that finds nothing takes no lock and wakes no other process.
      const messages = this.store.stmt('anyExpired').get(now) !== undefined;
      const members = this.store.stmt('anyGroupExpired').get(now) !== undefined;
      if (!messages && !members) return;
      this.store.transaction(() => {
        if (messages)
          this.forget(
            this.store
              .stmt('sweepMessages')
              .all(now)
              .map((row) => String(row.channel)),
          );
        if (members) this.store.stmt('sweepGroups').run(now);
      });
    } catch (error) {
      // Busy: the next sweep will do it.
      if (!isBusyError(error)) this.logger.warn(`Sweep failed: ${(error as Error).message}`);
    }
  }
}
