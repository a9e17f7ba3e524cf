import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  isBusyError,
  openDatabase,
  type SqliteDatabase,
  type SqliteDriverName,
  type SqliteStatement,
} from './sqlite-driver';

/**
 * Version of the tables below. A store written by another version is refused with a clear error
 * (never rebuilt under the feet of processes still using it).
 */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  channel TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue);
CREATE TABLE IF NOT EXISTS group_members (
  grp TEXT NOT NULL,
  channel TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (grp, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_by_channel ON group_members (channel);
CREATE TABLE IF NOT EXISTS channel_stats (
  queue TEXT PRIMARY KEY,
  messages_count INTEGER NOT NULL,
  channel_full_count INTEGER NOT NULL
) WITHOUT ROWID;
`;

const STATEMENTS = {
  count: 'SELECT count(*) AS n FROM messages WHERE queue = ?',
  insert: 'INSERT INTO messages (queue, channel, sent_at, expires_at, payload) VALUES (?, ?, ?, ?, ?)',
  pruneQueue: 'DELETE FROM messages WHERE queue = ? AND expires_at <= ? RETURNING channel',
  head: 'SELECT id, channel, expires_at, payload FROM messages WHERE queue = ? ORDER BY id LIMIT ?',
  deleteThrough: 'DELETE FROM messages WHERE queue = ? AND id <= ?',
  hasAny: 'SELECT 1 AS found FROM messages WHERE queue = ? LIMIT 1',
  anyExpired: 'SELECT 1 AS found FROM messages WHERE expires_at <= ? LIMIT 1',
  sweepMessages: 'DELETE FROM messages WHERE expires_at <= ? RETURNING channel',
  leaveGroups: 'DELETE FROM group_members WHERE channel = ?',
  groupAdd:
    'INSERT INTO group_members (grp, channel, expires_at) VALUES (?, ?, ?) ' +
    'ON CONFLICT (grp, channel) DO UPDATE SET expires_at = excluded.expires_at',
  groupDiscard: 'DELETE FROM group_members WHERE grp = ? AND channel = ?',
  groupPrune: 'DELETE FROM group_members WHERE grp = ? AND expires_at <= ?',
  groupMembers: 'SELECT channel FROM group_members WHERE grp = ? AND expires_at > ? ORDER BY expires_at, channel',
  anyGroupExpired: 'SELECT 1 AS found FROM group_members WHERE expires_at <= ? LIMIT 1',
  sweepGroups: 'DELETE FROM group_members WHERE expires_at <= ?',
  statsAdd:
    'INSERT INTO channel_stats (queue, messages_count, channel_full_count) VALUES (?, ?, ?) ' +
    'ON CONFLICT (queue) DO UPDATE SET messages_count = messages_count + excluded.messages_count, ' +
    'channel_full_count = channel_full_count + excluded.channel_full_count',
  statsOf: 'SELECT messages_count, channel_full_count FROM channel_stats WHERE queue = ?',
  statsTotal:
    'SELECT coalesce(sum(messages_count), 0) AS messages, coalesce(sum(channel_full_count), 0) AS full FROM channel_stats',
  pendingOf: 'SELECT count(*) AS n, min(sent_at) AS oldest FROM messages WHERE queue = ? AND expires_at > ?',
  pendingAll: 'SELECT count(*) AS n, min(sent_at) AS oldest FROM messages WHERE expires_at > ?',
} as const;

export type StatementName = keyof typeof STATEMENTS;

/**
 * Milliseconds SQLite itself waits for the write lock before SQLITE_BUSY: none. Its busy handler
 * sleeps 1 ms at least, and blocks the event loop while it does; transactions hold the lock for
 * microseconds, so the layer retries on the event loop's next turn instead (then with timers).
 */
const BUSY_TIMEOUT_MS = 0;
/** At open, when several processes start at once and one is creating the tables. */
const OPEN_BUSY_TIMEOUT_MS = 5000;

/** Thrown by `IpcStore.open` when the file is not a store this version can use. */
export class IpcStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcStoreError';
  }
}

/**
 * One connection to the shared SQLite file: WAL mode (readers never block the writer),
 * `synchronous=NORMAL` (a commit is a write to the WAL, no fsync: a machine crash may lose the
 * last commits, a process crash loses nothing committed), statements prepared once.
 */
export class IpcStore {
  private readonly statements = new Map<StatementName, SqliteStatement>();

  private constructor(
    readonly path: string,
    private readonly db: SqliteDatabase,
  ) {}

  get driver(): SqliteDriverName {
    return this.db.driver;
  }

  static open(path: string, driver?: SqliteDriverName): IpcStore {
    mkdirSync(dirname(path), { recursive: true });
    // Created private to this user before SQLite opens it; SQLite gives its -wal and -shm the same mode.
    // Never opened (then closed) when it exists: closing any descriptor of the file would drop the
    // POSIX locks another connection of this process holds on it.
    if (!existsSync(path)) {
      try {
        closeSync(openSync(path, 'wx', 0o600));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const db = openDatabase(path, driver);
    try {
      db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
      const mode = db.prepare('PRAGMA journal_mode = WAL').get();
      if (String(mode?.journal_mode).toLowerCase() !== 'wal') {
        throw new IpcStoreError(
          `the file system of ${path} does not support SQLite's WAL mode (journal_mode is ` +
            `${String(mode?.journal_mode)}): put the store on a local disk or tmpfs`,
        );
      }
      db.exec('PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 16777216');
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(SCHEMA);
        const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
        if (row === undefined) {
          db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
        } else if (Number(row.value) !== SCHEMA_VERSION) {
          throw new IpcStoreError(
            `the store ${path} has schema version ${String(row.value)}, this nestjs-channels uses ` +
              `${SCHEMA_VERSION}: stop the processes using it and delete the file (with its -wal and -shm), ` +
              'or choose another path',
          );
        }
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (error) {
      db.close();
      if (error instanceof IpcStoreError) throw error;
      const message = (error as Error).message;
      if (/not a database|malformed|corrupt/i.test(message)) {
        throw new IpcStoreError(
          `${path} is not an IpcChannelLayer store (${message}): choose another path, or delete the file ` +
            'if it is a store left by a crashed run that is damaged',
        );
      }
      throw new IpcStoreError(`could not open the IpcChannelLayer store ${path}: ${message}`);
    }
    return new IpcStore(path, db);
  }

  /** A cached prepared statement. */
  stmt(name: StatementName): SqliteStatement {
    let statement = this.statements.get(name);
    if (!statement) this.statements.set(name, (statement = this.db.prepare(STATEMENTS[name])));
    return statement;
  }

  /**
   * Runs `fn` in one `BEGIN IMMEDIATE` transaction (the write lock taken up front, so no reader
   * turns writer halfway and deadlocks). Throws SQLite's busy error when another process held the
   * lock beyond the busy timeout: `fn` then did nothing. Any other error rolls back and is rethrown.
   */
  transaction<T>(fn: (now: number) => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn(Date.now());
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // COMMIT failed and SQLite already rolled back, or the connection is gone.
      }
      throw error;
    }
  }

  /** Runs SQL without results (flush). */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}

export { isBusyError };
