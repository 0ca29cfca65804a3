import { randomUUID } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';

/** Who is logged in. */
export interface User {
  name: string;
}

/** The request as the guard leaves it, on either platform (Express's or Fastify's request). */
export interface WithUser {
  headers: Record<string, string | string[] | undefined>;
  user?: User;
}

/**
 * Sessions as opaque tokens in an HttpOnly cookie: what an EventSource sends by itself. A real
 * app keeps them in its session store; a Map is enough for the example.
 */
@Injectable()
export class Sessions {
  private readonly users = new Map<string, User>();

  open(user: User): string {
    const token = randomUUID();
    this.users.set(token, user);
    return token;
  }

  userOf(token: string | undefined): User | undefined {
    return token === undefined ? undefined : this.users.get(token);
  }
}

/**
 * The usual Nest guard: it finds the user and puts it on the request (`request.user`), where
 * the controller, the channel function and `authorize` read it. Without a session: 401.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  // An explicit token: tsx/esbuild emit no type metadata.
  constructor(@Inject(Sessions) private readonly sessions: Sessions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<WithUser>();
    const user = this.sessions.userOf(cookie(request.headers.cookie, 'session'));
    if (user === undefined) throw new UnauthorizedException('log in to listen');
    request.user = user;
    return true;
  }
}

function cookie(header: string | string[] | undefined, name: string): string | undefined {
  const line = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of line.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}
