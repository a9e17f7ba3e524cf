import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import session, { type Store } from 'express-session';
import { ChannelsModule } from '../src';
import { AuthController } from './auth.controller';
import { channelsConfig, loginAttemptsPerMinute, SESSION_COOKIE, sessionSecret } from './channels-config';
import { ChatConsumer, ChatHistoryConsumers } from './chat.consumers';
import { ChatController } from './chat.controller';
import { CounterStore } from './counter.store';
import { EchoConsumers } from './echo.consumers';
import { HistoryStore } from './history.store';
import { HttpConsumers } from './http.consumers';
import { LettersConsumers } from './letters.consumers';
import { CounterStream, MultiChatStream, MultiDemultiplexer } from './multi.consumers';
import { PrivateChatConsumer } from './private-chat.consumers';
import { SameOriginMiddleware } from './same-origin.middleware';
import { securityHeaders } from './security-headers';
import { SESSION_STORE, SessionStoreModule } from './session-store.module';
import { TasksConsumer } from './tasks.consumer';
import { TasksController } from './tasks.controller';
import { UsersModule, UsersStore } from './users.store';

@Module({
  imports: [
    SessionStoreModule,
    UsersModule,
    // Login attempts per client (AuthController's @Throttle): in this process's memory; with
    // several web processes, give it a shared storage (a Redis one) so the limit holds across them.
    ThrottlerModule.forRoot([{ name: 'login', ttl: 60_000, limit: loginAttemptsPerMinute() }]),
    // The consumers read the browser's session from the very store the session middleware below writes.
    ChannelsModule.forRootAsync({
      imports: [SessionStoreModule, UsersModule],
      inject: [SESSION_STORE, UsersStore],
      useFactory: (store: Store, users: UsersStore) => channelsConfig({ store, users }),
    }),
  ],
  controllers: [ChatController, AuthController, TasksController],
  providers: [
    HistoryStore,
    CounterStore,
    // Generic consumers (classes with @Consumer(filters)): a fresh instance per message, through DI.
    ChatConsumer,
    PrivateChatConsumer,
    MultiDemultiplexer,
    // The demultiplexer's stream consumers: transient providers too.
    MultiChatStream,
    CounterStream,
    // Method consumers.
    ChatHistoryConsumers,
    LettersConsumers,
    EchoConsumers,
    HttpConsumers,
    TasksConsumer,
  ],
})
export class AppModule implements NestModule {
  constructor(@Inject(SESSION_STORE) private readonly store: Store) {}

  /**
   * Security headers, CSRF protection and express-session, in the app itself (not main.ts), so
   * every way of serving it (npm start, runserver) has them.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        securityHeaders(),
        SameOriginMiddleware,
        session({
          store: this.store,
          secret: sessionSecret(),
          name: SESSION_COOKIE,
          resave: false,
          saveUninitialized: false,
          // httpOnly by default; SameSite=Lax keeps other sites' forms from posting with it. Behind
          // HTTPS, also set `secure: true` (and `app.set('trust proxy', 1)` behind a proxy).
          cookie: { sameSite: 'lax' },
        }),
      )
      // '{*path}': every path, '/' included ('*path' needs at least one character after the slash).
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
