/**
 * The few SQLite calls the IPC layer makes, over whichever driver this Node has: the built-in
 * `node:sqlite` (unflagged from Node 22.13 / 23.4) when present, else `better-sqlite3` v12, an
 * optional peer dependency loaded on first use. Both are synchronous; transactions are the
 * layer's own `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK`.
 */

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlRow = Record<string, unknown>;

export interface SqliteStatement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqliteDatabase {
  /** Which driver opened it: `node:sqlite` or `better-sqlite3`. */
  readonly driver: SqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

interface NodeSqliteModule {
  DatabaseSync: new (path: string) => {
    exec(sql: string): void;
    prepare(sql: string): SqliteStatement;
    close(): void;
  };
}

type BetterSqliteConstructor = new (path: string) => {
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  close(): unknown;
};

/** `node:sqlite` when this Node has it unflagged; undefined otherwise (Node 20, or 22 before 22.13). */
function nodeSqlite(): NodeSqliteModule | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin === 'function') {
    try {
      return getBuiltin('node:sqlite') as NodeSqliteModule | undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Opens `file` with better-sqlite3, loaded on first use (its native addon too, in the constructor). */
function openBetterSqlite(file: string): InstanceType<BetterSqliteConstructor> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as BetterSqliteConstructor;
    return new Database(file);
  } catch (error) {
    const { code, message: reason } = error as { code?: unknown; message: string };
    if (typeof code === 'string' && code.startsWith('SQLITE_')) throw error;
    if (nodeSqlite()) {
      throw new Error(
        `better-sqlite3 could not be loaded (${reason}): leave the driver option out to use the built-in ` +
          'node:sqlite, or reinstall it for this Node: npm install better-sqlite3@12',
      );
    }
    throw new Error(
      `IpcChannelLayer needs SQLite: this Node (${process.version}) has no built-in node:sqlite (Node >= 22.13 ` +
        `does), so install the better-sqlite3 driver: npm install better-sqlite3@12 (${reason})`,
    );
  }
}

/** The driver `openDatabase` uses unless told: `node:sqlite` when this Node has it. */
export function sqliteDriverName(): SqliteDriverName {
  return nodeSqlite() ? 'node:sqlite' : 'better-sqlite3';
}

/** Opens (creating if needed) the database file at `file` with the driver this Node has. */
export function openDatabase(file: string, driver: SqliteDriverName = sqliteDriverName()): SqliteDatabase {
  if (driver === 'node:sqlite') {
    const sqlite = nodeSqlite();
    if (!sqlite) throw new Error(`node:sqlite is not available on Node ${process.version}`);
    const db = new sqlite.DatabaseSync(file);
    return {
      driver,
      exec: (sql) => db.exec(sql),
      prepare: (sql) => db.prepare(sql),
      close: () => db.close(),
    };
  }
  const db = openBetterSqlite(file);
  return {
    driver,
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    close: () => void db.close(),
  };
}

/** SQLITE_BUSY / SQLITE_LOCKED from either driver: another process holds the write lock too long. */
export function isBusyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errcode, message } = error as { code?: unknown; errcode?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) return true;
  if (typeof errcode === 'number' && ((errcode & 0xff) === 5 || (errcode & 0xff) === 6)) return true;
  return typeof message === 'string' && /database (table )?is locked/.test(message);
}
