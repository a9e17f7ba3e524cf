import {
  Body,
  Controller,
  Get,
  Header,
  Inject,
  Post,
  Req,
  Res,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { Session } from 'express-session';
import { ChannelsService } from '../src';
import { SESSION_COOKIE } from './channels-config';
import { loginPage } from './private.page';
import { UsersStore, type SampleUser } from './users.store';

/** The session as passport lays it out: the serialized user (here the username) at `passport.user`. */
type PassportSession = Session & { passport?: { user?: unknown } };

const call = (work: (done: (error?: unknown) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => work((error) => (error ? reject(error) : resolve())));

/**
 * Logging in and out with the app's express-session. The session keeps the username where
 * passport would (`session.passport.user`), which is where the channels' default user resolver
 * looks: a WebSocket opened with this session's cookie gets the user as `message.user`. Logging
 * out closes the user's open sockets too. Posts from other sites are refused (SameOriginMiddleware)
 * and login attempts are limited per client (ThrottlerModule in AppModule: 429 past the limit).
 */
@Controller()
export class AuthController {
  constructor(
    @Inject(UsersStore) private readonly users: UsersStore,
    @Inject(ChannelsService) private readonly channels: ChannelsService,
  ) {}

  @Get('login')
  @Header('content-type', 'text/html; charset=utf-8')
  form(): string {
    return loginPage();
  }

  /** A form (urlencoded) or JSON `{username, password}`: 303 to /private/ when right, 401 and the form when not. */
  @Post('login')
  @UseGuards(ThrottlerGuard)
  async login(
    @Body() body: { username?: unknown; password?: unknown } | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const user = await this.users.verify(body?.username, body?.password);
    if (!user) {
      res.status(401).type('html').send(loginPage('Wrong username or password.'));
      return;
    }
    // A new session id on login, so an id planted before it (session fixation) is worth nothing.
    await call((done) => req.session.regenerate(done));
    (req.session as PassportSession).passport = { user: user.username };
    await call((done) => req.session.save(done));
    res.redirect(303, '/private/');
  }

  /** Ends the session and closes every socket the user opened with it (or with any other login). */
  @Post('logout')
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    const username = (req.session as PassportSession | undefined)?.passport?.user;
    await call((done) => req.session.destroy(done));
    // A socket opened before logout would otherwise go on speaking for the user.
    if (username !== undefined) await this.channels.closeUserSockets(username);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/private/');
  }

  /** Who this session's user is: `{username}`, or 401. */
  @Get('me')
  me(@Req() req: Request): SampleUser {
    const user = this.users.find((req.session as PassportSession | undefined)?.passport?.user);
    if (!user) throw new UnauthorizedException('Not logged in');
    return user;
  }
}
