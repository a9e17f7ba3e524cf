import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import type { Message } from '../channels/message';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { userGroupName } from '../registry/user-group';
import type { ConsumerInvoker } from '../routing/consumer-ref';
import { ChannelSessionState } from './channel-session';
import { runInOrder } from './enforce-ordering';
import { loadHttpSession, readHttpSession, type HttpSessionSource } from './http-session';
import { MemorySessionStore } from './memory-session-store';
import type { ConsumerSessionFlags } from './session-decorators';
import { channelSessionKey } from './session-key';
import { SessionStoreAdapter } from './session-store';
import { CHANNELS_SESSIONS_OPTIONS } from './sessions.constants';
import type { SessionsModuleOptions } from './sessions-options';
import {
  channelSessionSerializedUser,
  isAnonymous,
  passportUserResolver,
  transferUser,
  userFrom,
  type UserResolver,
} from './users';

/** Where `@ChannelAndHttpSession()` keeps the HTTP session id in the channel session. */
export const HTTP_SESSION_ID_KEY = '__channels_http_session';
const DEFAULT_COOKIE = 'connect.sid';
const CONNECT = 'websocket.connect';
const DISCONNECT = 'websocket.disconnect';
const DEFAULT_TTL_SECONDS = 86_400;

/** A consumer's flags with what they imply. */
interface Plan extends ConsumerSessionFlags {
  needsHttp: boolean;
  needsChannel: boolean;
}

function planOf(flags: ConsumerSessionFlags): Plan | null {
  const needsHttp = Boolean(
    flags.httpSession || flags.channelAndHttpSession || flags.httpSessionUser || flags.channelSessionUserFromHttp,
  );
  const needsChannel = Boolean(
    flags.channelSession ||
    flags.channelAndHttpSession ||
    flags.channelSessionUser ||
    flags.channelSessionUserFromHttp ||
    flags.enforceOrdering,
  );
  return needsHttp || needsChannel ? { ...flags, needsHttp, needsChannel } : null;
}

/**
 * Wraps consumers in what their session decorators ask for, always in this order: HTTP session,
 * channel session, the HTTP key hand-over, the user, ordering; then the consumer (guards and the
 * rest of Nest's enhancers included), then the channel session is saved if it was modified, also
 * when the consumer threw.
 */
@Injectable()
export class ConsumerSessions implements OnApplicationBootstrap {
  private readonly logger = new Logger('ChannelSessions');
  private readonly channelStore: SessionStoreAdapter;
  /** Channel sessions in this process's memory (no store configured). */
  private readonly processLocal: boolean;
  /** Consumers that use channel sessions, for the warning below. */
  private readonly channelSessionConsumers: string[] = [];
  private readonly httpSource: HttpSessionSource | undefined;
  private readonly ttlMs: number;
  private readonly resolver: UserResolver;
  private readonly userGroups: boolean;

  constructor(
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Optional() @Inject(CHANNELS_SESSIONS_OPTIONS) options: SessionsModuleOptions | undefined,
  ) {
    const {
      store,
      secret,
      cookieName = DEFAULT_COOKIE,
      channelStore,
      channelSessionTtl = DEFAULT_TTL_SECONDS,
      userGroups = true,
    } = options ?? {};
    if (!(channelSessionTtl > 0))
      throw new TypeError(`sessions.channelSessionTtl must be positive, got ${channelSessionTtl}`);
    const secrets = typeof secret === 'string' ? [secret] : [...(secret ?? [])];
    this.processLocal = !channelStore && !store;
    this.channelStore = new SessionStoreAdapter(channelStore ?? store ?? new MemorySessionStore());
    this.httpSource =
      store && secrets.length > 0 ? { store: new SessionStoreAdapter(store), cookieName, secrets } : undefined;
    this.ttlMs = channelSessionTtl * 1000;
    this.resolver = options?.userResolver ?? passportUserResolver();
    this.userGroups = userGroups;
  }

  /** The invoker with its session handling; the same invoker when it asked for none. */
  wrap(flags: ConsumerSessionFlags, invoker: ConsumerInvoker, consumer: string): ConsumerInvoker {
    const plan = planOf(flags);
    if (!plan) return invoker;
    if (plan.needsHttp && !this.httpSource) {
      throw new TypeError(
        `${consumer} reads the HTTP session: give ChannelsModule the app's session store and secret ` +
          `(sessions: { store, secret })`,
      );
    }
    if (plan.needsChannel) this.channelSessionConsumers.push(consumer);
    return (message, kwargs) => this.run(plan, message, () => invoker(message, kwargs));
  }

  /** Sessions kept in one process while messages may go to others: say so once, at start. */
  onApplicationBootstrap(): void {
    if (!this.processLocal || this.channelSessionConsumers.length === 0) return;
    const shared = this.registry.aliases.filter(
      (alias) => !(this.registry.layer(alias) instanceof InMemoryChannelLayer),
    );
    if (shared.length === 0) return;
    this.logger.warn(
      `${this.channelSessionConsumers.join(', ')} use channel sessions kept in this process's memory, but layer ` +
        `"${shared.join('", "')}" can hand a connection's messages to other processes: give ChannelsModule ` +
        `a shared store (sessions: { store } or { channelStore }, e.g. RedisSessionStore)`,
    );
  }

  /** The channel session of a reply channel, loaded (for code outside consumers, tests, admin tools). */
  async channelSessionFor(replyChannel: string): Promise<ChannelSessionState> {
    const session = new ChannelSessionState(channelSessionKey(replyChannel), this.channelStore, this.ttlMs);
    await session.load();
    return session;
  }

  private async run(plan: Plan, message: Message, consume: () => Promise<unknown>): Promise<unknown> {
    let httpSessionId: string | undefined;
    if (plan.needsHttp) {
      const loaded = await loadHttpSession(message.content, this.httpSource!);
      httpSessionId = loaded?.id;
      message.httpSession = loaded?.data ?? null;
    }
    let session: ChannelSessionState | undefined;
    if (plan.needsChannel) {
      if (!message.replyChannel) {
        throw new TypeError(
          `A channel session needs a message with a reply_channel (got one on ${message.channel.name})`,
        );
      }
      session = await this.channelSessionFor(message.replyChannel.name);
      message.channelSession = session;
    }
    if (plan.channelAndHttpSession && session) await this.handOverHttpSession(message, session, httpSessionId);
    let serialized: unknown;
    if (plan.channelSessionUserFromHttp || plan.httpSessionUser || plan.channelSessionUser) {
      ({ user: message.user, serialized } = await this.userOf(plan, message, session));
      // Before the consumer: a logout that races the accept still finds the socket in the group.
      if (message.channel.name === CONNECT && !isAnonymous(message.user))
        await this.userGroup('add', message, serialized);
    }
    try {
      if (plan.enforceOrdering && session) {
        let result: unknown;
        await runInOrder(message, session, async () => (result = await consume()));
        return result;
      }
      return await consume();
    } finally {
      if (message.channel.name === DISCONNECT) {
        await this.userGroup('discard', message, serialized).catch((error: Error) =>
          this.logger.error(`Could not take a closed socket out of its user's group: ${error.message}`),
        );
      }
      if (session?.modified) {
        await session
          .save()
          .catch((error: Error) => this.logger.error(`Could not save a channel session: ${error.message}`));
      }
    }
  }

  /** Keeps the HTTP session id on the first message that has one; later messages get the session from it. */
  private async handOverHttpSession(
    message: Message,
    session: ChannelSessionState,
    id: string | undefined,
  ): Promise<void> {
    const stored = session.get<string>(HTTP_SESSION_ID_KEY);
    if (id !== undefined) {
      if (stored === undefined) session.set(HTTP_SESSION_ID_KEY, id);
      return;
    }
    if (typeof stored !== 'string') return;
    message.httpSession = await readHttpSession(this.httpSource!.store, stored);
  }

  /** The user of a message and its serialized form (undefined for nobody). */
  private async userOf(
    plan: Plan,
    message: Message,
    session: ChannelSessionState | undefined,
  ): Promise<{ user: unknown; serialized: unknown }> {
    let serialized: unknown;
    if (plan.channelSessionUserFromHttp && session) {
      serialized = await this.resolver.identify(message, message.httpSession ?? null);
      transferUser({ serialized }, session);
      serialized ??= channelSessionSerializedUser(session);
    } else {
      serialized = plan.channelSessionUser && session ? channelSessionSerializedUser(session) : undefined;
      if ((serialized === undefined || serialized === null) && plan.httpSessionUser)
        serialized = await this.resolver.identify(message, message.httpSession ?? null);
    }
    return { user: await userFrom(this.resolver, serialized), serialized };
  }

  /**
   * Puts an authenticated WebSocket into its user's group on connect and takes it out on
   * disconnect, so `ChannelsService.closeUserSockets` reaches it (`sessions.userGroups: false` turns
   * this off). A failed add fails the connect: a socket revocation cannot reach must not open.
   */
  private async userGroup(action: 'add' | 'discard', message: Message, serialized: unknown): Promise<void> {
    const layer = message.channelLayer;
    if (!this.userGroups || serialized === undefined || serialized === null || !message.replyChannel) return;
    if (!layer.extensions.includes('groups')) return;
    const group = userGroupName(serialized);
    if (action === 'add') await layer.groupAdd!(group, message.replyChannel.name);
    else await layer.groupDiscard!(group, message.replyChannel.name);
  }
}
