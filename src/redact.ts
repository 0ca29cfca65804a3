/**
 * The one place secrets are taken out of text an error message shows: a URL's password
 * (`redis://:pw@host` → `redis://:***@host`) and the values of `key=`, `verify-key=`,
 * `token=` and `password=` query parameters. Text only, no URL parsing: a value that is not a
 * valid URL (`redis//:pw@host`, the very mistake being reported) is redacted as well.
 */
export function redactSecrets(text: string): string {
  return text.replace(USERINFO_PASSWORD, '$1:***@').replace(SECRET_PARAMETER, '$1***');
}

// `user:password@` after a start, a slash, a space or a quote. Over-matching (a `host:port/x@y`)
// hides too much, which is the safe side for a message.
// No `/` in the password: `redis://user:pw@` must not match from `redis:` on.
const USERINFO_PASSWORD = /((?:^|[/\s'"])[^\s:/@'"]*):[^@\s'"/]+@/g;
const SECRET_PARAMETER = /([?&;](?:key|verify-key|verify_key|token|password)=)[^&#\s'"]*/gi;
