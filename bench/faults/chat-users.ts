// The chat's users for scenarios 3 and 4, in the bench process: each holds one WebSocket to the chat
// app, says one line every 250 ms, and records what it hears. Every line sent, every socket opened
// and how it closed is kept, so the accounting (bench/faults/chat.ts) can tell, for each line, who
// should have heard it. With `reconnect`, a user whose socket the server closed opens a new one
// (as a browser page would) and goes on.
import WebSocket from 'ws';
import { Samples } from '../stats';

const OPEN_TIMEOUT_MS = 10_000;
/** A user reconnects this long after its socket closed (plus up to as much again at random), then backs off. */
const RECONNECT_MS = 250;
const RECONNECT_MAX_MS = 2000;

/** One socket of a user: when it was open and how it ended. */
export interface SocketLife {
  user: number;
  openedAt: number;
  closedAt?: number;
  /** The close code; 1006 when the connection dropped without a close frame. */
  code?: number;
  /** Closed by the bench itself (the end of the run). */
  byUs: boolean;
}

/** One line a user sent. */
export interface Line {
  user: number;
  seq: number;
  /** The socket it was sent on (index into ChatRun.sockets). */
  socket: number;
  sentAt: number;
  /** Which users heard it (1 each), and how many of them. */
  heardBy: Uint8Array;
  heard: number;
  /** When the last user heard it (performance.now()). */
  lastHeardAt: number;
}

/** Every user of one run and what they did. */
export class ChatRun {
  readonly lines: Line[] = [];
  readonly sockets: SocketLife[] = [];
  readonly delays = new Samples();
  /** Lines a user wanted to send while it had no open socket. */
  notSent = 0;
  duplicates = 0;
  /** Lines heard, all users together (duplicates apart). */
  heard = 0;
  /** Frames that were not a line of this run. */
  strays = 0;
  /** Handshakes that failed (refused, timed out), and the first reason. */
  failedOpens = 0;
  firstOpenError: string | undefined;
  lastHeardAt = 0;
  private readonly byUser: Line[][];
  private readonly users: ChatUser[];
  private stopping = false;

  constructor(
    readonly url: string,
    readonly userCount: number,
    readonly reconnect: boolean,
  ) {
    this.byUser = Array.from({ length: userCount }, () => []);
    this.users = Array.from({ length: userCount }, (_, i) => new ChatUser(i, this));
  }

  /** Opens every user's socket (10 at a time); rejects if one cannot open. */
  async open(): Promise<void> {
    for (let i = 0; i < this.users.length; i += 10) {
      await Promise.all(this.users.slice(i, i + 10).map((user) => user.open()));
    }
  }

  /** Users with an open socket now. */
  get openUsers(): number {
    return this.users.filter((user) => user.isOpen).length;
  }

  /**
   * Every user says a line every `intervalMs`, `count` times, user i starting i × interval ÷ users
   * after `startAt` (performance.now()), so the lines are spread evenly.
   */
  async talk(startAt: number, intervalMs: number, count: number): Promise<void> {
    await Promise.all(
      this.users.map(async (user, i) => {
        const offset = (i * intervalMs) / this.users.length;
        for (let n = 0; n < count && !this.stopping; n++) {
          const due = startAt + offset + n * intervalMs;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
          user.say();
        }
      }),
    );
  }

  /** Closes every socket (1000) and stops reconnecting. */
  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.users.map((user) => user.close()));
  }

  get closing(): boolean {
    return this.stopping;
  }

  /** @internal A user sends line `seq` on socket `socket`: recorded before it leaves. */
  recordLine(user: number, socket: number): Line {
    const line: Line = {
      user,
      seq: this.byUser[user].length,
      socket,
      sentAt: performance.now(),
      heardBy: new Uint8Array(this.userCount),
      heard: 0,
      lastHeardAt: 0,
    };
    this.byUser[user].push(line);
    this.lines.push(line);
    return line;
  }

  /** @internal User `listener` heard `text`. */
  recordHeard(listener: number, text: string): void {
    const now = performance.now();
    const [user, seq] = text.split(' ').map(Number);
    const line = this.byUser[user]?.[seq];
    if (!line) {
      this.strays++;
      return;
    }
    if (line.heardBy[listener]) {
      this.duplicates++;
      return;
    }
    line.heardBy[listener] = 1;
    line.heard++;
    line.lastHeardAt = now;
    this.lastHeardAt = now;
    this.heard++;
    this.delays.add(now - line.sentAt);
  }

  /** @internal */
  recordSocket(life: SocketLife): number {
    this.sockets.push(life);
    return this.sockets.length - 1;
  }

  /** @internal */
  openFailed(error: Error): void {
    this.failedOpens++;
    this.firstOpenError ??= error.message;
  }
}

class ChatUser {
  private socket: WebSocket | undefined;
  /** Index of the current socket's SocketLife. */
  private life = -1;
  private reconnecting: Promise<void> | undefined;
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly index: number,
    private readonly run: ChatRun,
  ) {}

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${this.run.url}/chat/${this.index}`, {
        perMessageDeflate: false,
        handshakeTimeout: OPEN_TIMEOUT_MS,
      });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        const life = this.run.recordSocket({ user: this.index, openedAt: performance.now(), byUs: false });
        this.socket = socket;
        this.life = life;
        socket.on('message', (data) => this.run.recordHeard(this.index, String(data)));
        this.closed = new Promise((closed) =>
          socket.once('close', (code: number) => {
            const record = this.run.sockets[life];
            record.closedAt = performance.now();
            record.code = code;
            record.byUs = this.run.closing;
            if (this.socket === socket) this.socket = undefined;
            closed();
            if (this.run.reconnect && !this.run.closing) this.reconnecting ??= this.reopen();
          }),
        );
        resolve();
      });
    });
  }

  /** Opens a new socket after a short wait, backing off while handshakes fail. */
  private async reopen(): Promise<void> {
    let wait = RECONNECT_MS;
    try {
      while (!this.run.closing) {
        await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
        if (this.run.closing) return;
        try {
          await this.open();
          return;
        } catch (error) {
          this.run.openFailed(error as Error);
          wait = Math.min(wait * 2, RECONNECT_MAX_MS);
        }
      }
    } finally {
      this.reconnecting = undefined;
    }
  }

  say(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      this.run.notSent++;
      return;
    }
    const line = this.run.recordLine(this.index, this.life);
    socket.send(`${line.user} ${line.seq}`);
  }

  async close(): Promise<void> {
    await this.reconnecting;
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.close(1000);
      const timer = setTimeout(() => socket.terminate(), 3000);
      await this.closed;
      clearTimeout(timer);
    } else socket?.terminate();
  }
}
