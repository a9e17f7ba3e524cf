import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { SCRIPT_SHAS, SCRIPTS, type ScriptName } from './lua-scripts';

type ScriptArg = string | Buffer | number;

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
 * One Redis host: a command connection (auto-pipelined, for scripts) and a small pool of
 * dedicated connections for blocking pops, each cancellable with CLIENT UNBLOCK.
 */
export class RedisShard {
  private readonly command: Redis;
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
  private outageLogged = false;
  private closed = false;

  constructor(
    readonly name: string,
    options: RedisOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** Called when this host restarted without its data. */
    private readonly onStateLost: (host: string) => void = () => undefined,
  ) {
    this.markerKey = `${prefix}alive:${randomBytes(9).toString('base64url')}`;
    this.markerRenewal = setInterval(() => void this.renewMarker(), MARKER_RENEW_MS).unref();
    this.command = new Redis(options);
    this.command.on('error', (error: Error) => {
      if (!this.closed) this.logOutage(error);
    });
    this.command.on('ready', () => {
      this.outageLogged = false;
      void this.checkServer();
    });
  }

  /**
   * Runs one of the layer's Lua scripts (the prefix is always its first argument): EVALSHA with
   * the precomputed SHA1, and EVAL once when the server does not have it yet (or lost it in a restart).
   */
  async run(script: ScriptName, args: readonly ScriptArg[], buffers = false): Promise<unknown> {
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
    let resolveDone!: (value: PoppedEntry[]) => void;
    const done = new Promise<PoppedEntry[]>((resolve) => (resolveDone = resolve));
    const finish = (value: PoppedEntry[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      this.release(connection, broken);
      resolveDone(value);
    };
    const drop = (): void => {
      broken = true;
      connection.redis.disconnect();
    };
    // If Redis never answers (an outage with the command queued), give up on this connection.
    const guard = setTimeout(() => {
      drop();
      finish([]);
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
        if (connection.id !== undefined && this.command.status === 'ready') {
          this.command.client('UNBLOCK', connection.id).catch(drop);
        } else {
          drop();
        }
      },
    };
  }

  /** Ends every blocking pop in progress (they resolve null): used when the layer closes. */
  interruptBlocking(): void {
    for (const connection of this.busy) connection.redis.disconnect();
  }

  /** Every key matching `pattern`, by SCAN. */
  async scanKeys(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.command.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  /** HMGET of the same fields on many keys, in one pipeline. */
  async hmgetMany(keys: readonly string[], fields: readonly string[]): Promise<Array<Array<string | null>>> {
    if (keys.length === 0) return [];
    const pipeline = this.command.pipeline();
    for (const key of keys) pipeline.hmget(key, ...fields);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value as Array<string | null>;
    });
  }

  /** Deletes every key matching `pattern` (SCAN + UNLINK: never blocks Redis like KEYS). */
  async deleteMatching(pattern: string): Promise<void> {
    const keys = await this.scanKeys(pattern);
    for (let i = 0; i < keys.length; i += 1000) await this.command.unlink(...keys.slice(i, i + 1000));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.markerRenewal);
    await this.command.del(this.markerKey).catch(() => undefined);
    for (const connection of [...this.idle, ...this.busy]) connection.redis.disconnect();
    this.idle.length = 0;
    this.busy.clear();
    await this.command.quit().catch(() => this.command.disconnect());
  }

  private acquire(): BlockingConnection {
    let connection = this.idle.pop();
    if (!connection) {
      const redis = this.command.duplicate({ enableAutoPipelining: false });
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
    if (this.closed) return;
    await this.command.set(this.markerKey, '1', 'EX', MARKER_TTL_SECONDS).catch(() => undefined);
  }

  private logOutage(error: Error): void {
    if (this.outageLogged || this.closed) return;
    this.outageLogged = true;
    this.logger.warn(`Redis ${this.name}: ${error.message} (reconnecting)`);
  }
}
