import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { LayerUnavailable } from '../errors';
import { CommandGate, type GateLimits } from './command-gate';
import { SCRIPT_SHAS, SCRIPTS, type ScriptName } from './lua-scripts';

type ScriptArg = string | Buffer | number;

/** A call ioredis had queued but not written when its connection dropped. */
interface UnsentCommand {
  promise: Promise<unknown>;
  reject(error: Error): void;
}

/** A popped list entry: which list it came from and its raw bytes. */
export interface PoppedEntry {
  base: string;
  entry: Buffer;
}

/** A blocking pop that can be cancelled from outside; `done` never rejects (empty: nothing came). */
export interface BlockingPop {
  done: Promise<PoppedEntry[]>;
  cancel(): void;
}

interface BlockingConnection {
  redis: Redis;
  id: number | undefined;
}

const MAX_IDLE_BLOCKING = 8;
/** The marker that tells a restart with data from one without: its TTL, and how often it is renewed. */
const MARKER_TTL_SECONDS = 7200;
const MARKER_RENEW_MS = 3_600_000;
/** How long past its own timeout a BLPOP may stay unanswered before its connection is dropped. */
const BLOCKING_GRACE_MS = 2000;
/**
 * How much longer a BLPOP Redis did receive (connected, not answering: a stall) is awaited: a
 * dropped connection would lose what Redis pops for it when it wakes up.
 */
const STALLED_POP_MS = 60_000;
const SCRIPT_SOURCES = Object.values(SCRIPTS);

/**
 * One Redis host: a command connection (for scripts), behind a `CommandGate` that holds calls in
 * an outage buffer while Redis does not answer, and a small pool of dedicated connections for
 * blocking pops, each cancellable with CLIENT UNBLOCK.
 *
 * The command connection keeps retrying (`maxRetriesPerRequest: null`: the gate bounds how long a
 * call waits, and hands nothing to ioredis while the connection is down) and never resends a
 * command after a reconnect (`autoResendUnfulfilledCommands: false`). A command written before the
 * connection dropped may have run or not: resending it could deliver a message twice, so it fails
 * instead with `LayerUnavailable` (`connection_lost`), and the layer stays at-most-once, as ASGI
 * asks. Only the few calls in flight at the moment of a drop are affected; calls made while it is
 * down wait and go out once. ioredis would leave those commands pending forever without a resend,
 * so `connectionLost` rejects them itself.
 */
export class RedisShard {
  private readonly command: Redis;
  private readonly gate: CommandGate;
  /** ioredis options for blocking connections: today's bounded retries and resends. */
  private readonly blockingOptions: RedisOptions;
  private readonly idle: BlockingConnection[] = [];
  private readonly busy = new Set<BlockingConnection>();
  /** Redis clock minus local clock (ms), so blocking pops can judge expiry in Redis time. */
  private clockOffset = 0;
  /** Redis 7 has BLMPOP, which pops a batch from the first non-empty list in one call. */
  private hasBlmpop = false;
  /** The server's run_id: a new one means it restarted. */
  private runId: string | undefined;
  /** A key of ours whose absence after a restart means the data did not survive it. */
  private readonly markerKey: string;
  private readonly markerRenewal: NodeJS.Timeout;
  /** The command connection is ready (commands written since may be in flight). */
  private ready = false;
  /** Counts 'ready' events, so a late script load does not open the gate of a newer connection. */
  private readyEpoch = 0;
  private outageLogged = false;
  /** The layer is closing: connections dropped now are not an outage. */
  private closing = false;
  private closed = false;

  constructor(
    readonly name: string,
    options: RedisOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
    limits: GateLimits,
    /** Called when this host restarted without its data. */
    private readonly onStateLost: (host: string) => void = () => undefined,
  ) {
    this.markerKey = `${prefix}alive:${randomBytes(9).toString('base64url')}`;
    this.markerRenewal = setInterval(() => void this.renewMarker(), MARKER_RENEW_MS).unref();
    this.gate = new CommandGate(name, limits, logger);
    this.blockingOptions = {
      enableAutoPipelining: false,
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      autoResendUnfulfilledCommands: options.autoResendUnfulfilledCommands ?? true,
    };
    this.command = new Redis({ ...options, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: false });
    this.command.on('error', (error: Error) => {
      if (!this.closed) this.logOutage(error);
    });
    this.command.on('ready', () => {
      this.outageLogged = false;
      this.ready = true;
      const epoch = ++this.readyEpoch;
      void this.checkServer();
      void this.openGate(epoch);
    });
    this.command.on('close', () => this.connectionLost());
  }

  /**
   * Resolves once this host answers (its command connection is ready); rejects with
   * `LayerUnavailable` after `timeoutMs`: for apps that would rather not start without Redis.
   */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    if (this.ready && this.command.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.command.off('ready', onReady);
        reject(
          new LayerUnavailable(
            this.name,
            'unreachable',
            `Redis ${this.name} did not answer within ${timeoutMs / 1000} s (is it running, and is the URL right?)`,
          ),
        );
      }, timeoutMs);
      this.command.once('ready', onReady);
    });
  }

  /** A refused batch call carried `n` more messages than the one the gate counted. */
  countMoreLosses(n: number): void {
    this.gate.countMoreLosses(n);
  }

  /** Messages this host refused with `LayerUnavailable` (outage buffer limits, dropped connection). */
  get rejectedMessages(): number {
    return this.gate.rejected;
  }

  /**
   * Runs one of the layer's Lua scripts (the prefix is always its first argument) through the
   * gate: EVALSHA with the precomputed SHA1, and EVAL when the server does not have it.
   */
  run(script: ScriptName, args: readonly ScriptArg[], buffers = false): Promise<unknown> {
    if (this.gate.passes()) return this.gate.track(this.evaluate(script, args, buffers), false);
    return this.gate.submit(() => this.evaluate(script, args, buffers));
  }

  /** `run` for a script that carries a message of `bytes` encoded bytes: a refusal counts as a loss. */
  runWithMessage(script: ScriptName, args: readonly ScriptArg[], bytes: number): Promise<unknown> {
    if (this.gate.passes()) return this.gate.track(this.evaluate(script, args, false), true);
    return this.gate.submit(() => this.evaluate(script, args, false), Math.max(1, bytes));
  }

  private async evaluate(script: ScriptName, args: readonly ScriptArg[], buffers: boolean): Promise<unknown> {
    try {
      return await this.call(buffers, 'evalsha', SCRIPT_SHAS[script], args);
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return this.call(buffers, 'eval', SCRIPTS[script], args);
    }
  }

  private call(buffers: boolean, command: string, script: string, args: readonly ScriptArg[]): Promise<unknown> {
    return buffers
      ? this.command.callBuffer(command, script, 0, this.prefix, ...args)
      : this.command.call(command, script, 0, this.prefix, ...args);
  }

  /**
   * Opens the gate once the scripts are loaded: after a restart Redis has none, and a burst of
   * EVALSHAs answered NOSCRIPT would be retried as EVALs out of their order.
   */
  private async openGate(epoch: number): Promise<void> {
    try {
      await Promise.all(SCRIPT_SOURCES.map((source) => this.command.script('LOAD', source)));
    } catch (error) {
      // Dropped again: the next 'ready' opens the gate.
      if (error instanceof LayerUnavailable || epoch !== this.readyEpoch) return;
      this.logger.warn(
        `Redis ${this.name}: could not load the layer's scripts ahead (${(error as Error).message}); ` +
          'they load on first use',
      );
    }
    if (epoch === this.readyEpoch && this.ready && !this.closed) this.gate.connected();
  }

  /**
   * The command connection closed: calls wait in the gate from now on, and the commands written
   * and not answered are failed (ioredis does not resend them: see the class comment).
   */
  private connectionLost(): void {
    if (!this.ready) return;
    this.ready = false;
    this.gate.disconnected(this.closed ? 'closing' : 'connection lost, reconnecting');
    this.holdUnsent();
    const unanswered = this.command.commandQueue;
    for (let item = unanswered.shift(); item; item = unanswered.shift()) {
      item.command.reject(
        new LayerUnavailable(
          this.name,
          'connection_lost',
          `The connection to Redis ${this.name} dropped before it answered: the call may or may not have ` +
            'been carried out (a message may have been delivered; it is not sent again, so never twice)',
        ),
      );
    }
  }

  /**
   * Calls made just before the drop was noticed, that ioredis could not write any more, sit in its
   * offline queue, which has no age limit (the connection retries forever): they move into the
   * gate, ahead of later calls, so they go out in order on reconnect or fail at the gate's age limit.
   */
  private holdUnsent(): void {
    // ioredis keeps its offline queue private; it is the one place these calls are.
    const unsent = (this.command as unknown as { offlineQueue: { shift(): { command: UnsentCommand } | undefined } })
      .offlineQueue;
    for (let item = unsent.shift(); item; item = unsent.shift()) {
      const { command } = item;
      this.gate
        .submit(() => {
          this.command.sendCommand(command as unknown as Parameters<Redis['sendCommand']>[0]);
          return command.promise;
        }, 1)
        .catch((error: Error) => command.reject(error));
    }
  }

  /** Redis time now, estimated from the local clock. */
  redisNow(): number {
    return Date.now() + this.clockOffset;
  }

  /**
   * Pops from the first non-empty list of `bases` (without prefix), waiting up to `ms`: up to
   * `count` entries of that list (BLMPOP, Redis 7; one with BLPOP before). Resolves empty on
   * timeout, cancel or error.
   */
  blockingPop(bases: readonly string[], ms: number, count = 1): BlockingPop {
    const connection = this.acquire();
    let settled = false;
    let broken = false;
    let stalled: NodeJS.Timeout | undefined;
    let resolveDone!: (value: PoppedEntry[]) => void;
    const done = new Promise<PoppedEntry[]>((resolve) => (resolveDone = resolve));
    const finish = (value: PoppedEntry[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      clearTimeout(stalled);
      this.release(connection, broken);
      resolveDone(value);
    };
    const drop = (): void => {
      broken = true;
      connection.redis.disconnect();
    };
    const guard = setTimeout(() => {
      if (connection.redis.status !== 'ready') {
        // An outage with the command queued, never written: dropping the connection loses nothing.
        drop();
        finish([]);
        return;
      }
      // Written and not answered: Redis is stalled. Dropping the connection now would lose what
      // the pop takes when Redis wakes up (it would answer a closed socket), so wait on; a second
      // receive meanwhile would also take messages out of their order.
      stalled = setTimeout(() => {
        this.logOutage(new Error(`a blocking receive got no answer for ${(ms + STALLED_POP_MS) / 1000} s`));
        drop();
        finish([]);
      }, STALLED_POP_MS).unref();
    }, ms + BLOCKING_GRACE_MS);
    const seconds = Math.max(0.001, Math.ceil(ms) / 1000);
    const keys = bases.map((base) => this.prefix + base);
    const popped: Promise<[Buffer, Buffer[]] | null> =
      count > 1 && this.hasBlmpop
        ? (connection.redis.callBuffer('blmpop', seconds, keys.length, ...keys, 'LEFT', 'COUNT', count) as Promise<
            [Buffer, Buffer[]] | null
          >)
        : connection.redis.blpopBuffer(...keys, seconds).then((reply) => (reply ? [reply[0], [reply[1]]] : null));
    popped
      .then((reply) => {
        this.outageLogged = false;
        if (!reply) return finish([]);
        const base = reply[0].toString('utf8').slice(this.prefix.length);
        finish(reply[1].map((entry) => ({ base, entry })));
      })
      .catch((error: Error) => {
        // A connection we dropped ourselves (cancel, close) is not an outage.
        if (!broken) this.logOutage(error);
        broken = true;
        finish([]);
      });
    return {
      done,
      cancel: () => {
        if (settled) return;
        if (stalled) {
          // Redis is stalled: CLIENT UNBLOCK would wait as long. The caller stops now.
          drop();
          finish([]);
        } else if (connection.id !== undefined && this.command.status === 'ready') {
          this.command.client('UNBLOCK', connection.id).catch(drop);
        } else {
          drop();
        }
      },
    };
  }

  /** Ends every blocking pop in progress (they resolve null): used when the layer closes. */
  interruptBlocking(): void {
    this.closing = true;
    for (const connection of this.busy) connection.redis.disconnect();
  }

  /** Every key matching `pattern`, by SCAN. */
  async scanKeys(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.gate.submit(() => this.command.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  /** HMGET of the same fields on many keys, in one pipeline. */
  async hmgetMany(keys: readonly string[], fields: readonly string[]): Promise<Array<Array<string | null>>> {
    if (keys.length === 0) return [];
    const results =
      (await this.gate.submit(() => {
        const pipeline = this.command.pipeline();
        for (const key of keys) pipeline.hmget(key, ...fields);
        return pipeline.exec();
      })) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value as Array<string | null>;
    });
  }

  /** Deletes every key matching `pattern` (SCAN + UNLINK: never blocks Redis like KEYS). */
  async deleteMatching(pattern: string): Promise<void> {
    const keys = await this.scanKeys(pattern);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.gate.submit(() => this.command.unlink(...batch));
    }
  }

  /**
   * Calls waiting in the outage buffer go out first if Redis answers (else they fail at once); the
   * connection then quits, which Redis answers after every pending command.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.markerRenewal);
    await this.gate.close();
    // While the connection is down, a command would wait in ioredis for good (no retry limit).
    if (this.command.status === 'ready') await this.command.del(this.markerKey).catch(() => undefined);
    for (const connection of [...this.idle, ...this.busy]) connection.redis.disconnect();
    this.idle.length = 0;
    this.busy.clear();
    if (this.command.status === 'ready') await this.command.quit().catch(() => this.command.disconnect());
    else this.command.disconnect();
  }

  private acquire(): BlockingConnection {
    let connection = this.idle.pop();
    if (!connection) {
      const redis = this.command.duplicate(this.blockingOptions);
      const created: BlockingConnection = { redis, id: undefined };
      redis.on('error', () => undefined); // outages are reported through the command connection
      redis.on('ready', () => {
        redis.client('ID').then(
          (id) => (created.id = Number(id)),
          () => (created.id = undefined),
        );
      });
      connection = created;
    }
    this.busy.add(connection);
    return connection;
  }

  private release(connection: BlockingConnection, broken: boolean): void {
    this.busy.delete(connection);
    if (broken || this.idle.length >= MAX_IDLE_BLOCKING) connection.redis.disconnect();
    else this.idle.push(connection);
  }

  private async checkServer(): Promise<void> {
    try {
      const before = Date.now();
      const [seconds, micros] = await this.command.time();
      this.clockOffset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + Date.now()) / 2;
      const info = await this.command.info('server');
      await this.checkRestart(/run_id:(\w+)/.exec(info)?.[1]);
      const version = /redis_version:(\d+)\.(\d+)/.exec(info);
      this.hasBlmpop = version !== null && Number(version[1]) >= 7;
      if (version && Number(version[1]) < 6) {
        this.logger.error(
          `Redis ${this.name} is version ${version[1]}.${version[2]}; the channel layer needs 6.0 or later`,
        );
      }
    } catch (error) {
      this.logOutage(error as Error);
    }
  }

  /** After a restart (a new run_id), our marker tells whether the data survived it. */
  private async checkRestart(runId: string | undefined): Promise<void> {
    const restarted = runId !== undefined && this.runId !== undefined && runId !== this.runId;
    if (runId !== undefined) this.runId = runId;
    if (restarted && (await this.command.exists(this.markerKey)) === 0) {
      this.logger.warn(`Redis ${this.name} restarted without its data: groups and queued messages are gone`);
      this.onStateLost(this.name);
    }
    await this.renewMarker();
  }

  private async renewMarker(): Promise<void> {
    if (this.closed || this.command.status !== 'ready') return;
    await this.command.set(this.markerKey, '1', 'EX', MARKER_TTL_SECONDS).catch(() => undefined);
  }

  private logOutage(error: Error): void {
    if (this.outageLogged || this.closing || this.closed) return;
    this.outageLogged = true;
    this.logger.warn(`Redis ${this.name}: ${error.message} (reconnecting)`);
  }
}
