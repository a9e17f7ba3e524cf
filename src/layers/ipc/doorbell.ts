import { closeSync, existsSync, fstatSync, openSync, watch, writeSync, type FSWatcher } from 'node:fs';

function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * A file beside the store that every process writes one byte to after a commit that queued
 * messages, and watches (`fs.watch`: inotify on Linux) to learn of other processes' sends. The
 * write comes after COMMIT has returned, so a woken reader always sees the new rows (the WAL
 * itself is written before the commit is visible, so watching it would let a reader look too early).
 */
export class Doorbell {
  private fd: number | undefined;
  private watcher: FSWatcher | undefined;
  private readonly byte = Buffer.of(1);
  private closed = false;

  constructor(
    readonly path: string,
    private readonly onRing: () => void,
    private readonly onWatchError: (error: Error) => void,
  ) {
    createPrivate(path);
    this.fd = openSync(path, 'r+');
    this.watch();
  }

  /** Tells the other processes (and this one's watcher) that messages were queued. */
  ring(): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, this.byte, 0, 1, 0);
    } catch {
      // The next tend() reopens it; meanwhile receivers find messages at their poll.
      this.closeFd();
    }
  }

  /**
   * Repairs what a hand-deleted bell breaks (called at each poll): a bell whose file is gone is
   * recreated, and a lost watch is set again.
   */
  tend(): void {
    if (this.closed) return;
    try {
      if (this.fd !== undefined && fstatSync(this.fd).nlink === 0) this.closeFd();
      if (this.fd === undefined) {
        createPrivate(this.path);
        this.fd = openSync(this.path, 'r+');
      }
    } catch {
      this.closeFd();
    }
    if (!this.watcher) this.watch();
  }

  get watching(): boolean {
    return this.watcher !== undefined;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed.
    }
    this.fd = undefined;
  }

  private watch(): void {
    if (this.closed || this.watcher || !existsSync(this.path)) return;
    try {
      const watcher = watch(this.path, { persistent: false }, (event) => {
        if (event === 'rename') {
          // Replaced or removed: watched again at the next tend().
          watcher.close();
          if (this.watcher === watcher) this.watcher = undefined;
        }
        this.onRing();
      });
      watcher.on('error', (error: Error) => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
        this.onWatchError(error);
      });
      this.watcher = watcher;
    } catch (error) {
      this.onWatchError(error as Error);
    }
  }
}
