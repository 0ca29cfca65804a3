/**
 * Every default of every public option, once. A component never writes a default of its own:
 * it is handed the resolved value (src/config/*), or reads the default here. Each value says
 * why it is what it is, so changing one is a decision, not a guess.
 */

// --- new EventStream(): streams ---

/** `gripPrefix`: what `@fanoutio/eventstream` 2.0.1 used, so proxies configured for it keep matching. */
export const DEFAULT_GRIP_PREFIX = 'events-';
/**
 * `keepAliveInterval` (ms): well under the 30–60 s idle timeouts of common proxies and load
 * balancers, and rare enough to cost nothing on many idle streams.
 */
export const DEFAULT_KEEP_ALIVE_INTERVAL = 20_000;
/**
 * `maxBufferedBytes`: a client that stopped reading holds at most this much of our memory
 * (about 1,000 typical events) before it is dropped; a reader on a slow link never gets near it.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** `gripTimeout` (ms): a frozen proxy makes a publish fail typed instead of hanging it. */
export const DEFAULT_GRIP_TIMEOUT = 10_000;
/**
 * `logger`: `console`. Only incidents are written, each once, so the default is quiet on a
 * healthy server and loud on a broken one (docs/operations.md).
 */
export const DEFAULT_LOGGER = console;
/** `metrics`: on. Counters are plain integers read when scraped; histograms sample 1 in 64. */
export const DEFAULT_METRICS = true;

// --- history (in memory, and the bounds Redis shares) ---

/** `history.maxEvents`: a resume after a short network drop on a busy channel still finds its place. */
export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
/** `history.maxAge` (ms): 5 minutes covers a laptop lid closed for a coffee; older resumes get history-truncated. */
export const DEFAULT_HISTORY_MAX_AGE = 5 * 60_000;
/** `history.maxBytes`, per channel: room for a busy channel's 1,000 events of 8 KB. */
export const DEFAULT_HISTORY_MAX_BYTES = 8 * 1024 * 1024;
/** `history.maxTotalBytes`, the whole store: a burst of large events pins a few tens of MiB at most. */
export const DEFAULT_HISTORY_MAX_TOTAL_BYTES = 32 * 1024 * 1024;

// --- Redis ---

/** `keyPrefix` of Redis keys and pub/sub channels: names the library, so a shared Redis shows whose keys they are. */
export const DEFAULT_KEY_PREFIX = 'gripstream:';
/** `redis.commandTimeout` (ms): a frozen Redis makes a publish reject, never hang; a healthy one answers in 1 ms. */
export const DEFAULT_COMMAND_TIMEOUT = 2000;
/** `presence.heartbeatMs`: a heartbeat is one small write; every 5 s costs nothing at any scale. */
export const DEFAULT_PRESENCE_HEARTBEAT = 5000;
/** `presence.ttlMs`: three heartbeats, so one or two late ones (a GC pause) never hide a live instance. */
export const DEFAULT_PRESENCE_TTL = 15_000;

// --- subscription tokens ---

/** `tokens.cookie`: a name of our own, so it never collides with the app's session cookie. */
export const DEFAULT_TOKEN_COOKIE = 'gripstream_token';
/** `tokens.query`: the name OAuth 2.0 (RFC 6750 §2.3) gives a bearer token in a URL. */
export const DEFAULT_TOKEN_QUERY = 'access_token';
/** TokenVerifier `clockTolerance` (s): servers a few seconds apart must not refuse fresh tokens. */
export const DEFAULT_CLOCK_TOLERANCE = 30;
/** TokenVerifier `maxTokenLength` (characters): a real token is a few hundred; a huge one is refused before decoding. */
export const DEFAULT_MAX_TOKEN_LENGTH = 4096;
/** mintToken `expiresIn` (s): short-lived, so a leaked token is useless soon; the page mints a new one. */
export const DEFAULT_TOKEN_LIFETIME = 300;
/** mintToken `algorithm` with a secret: HS256, which every JWT library verifies. */
export const DEFAULT_TOKEN_ALGORITHM = 'HS256';
/** tokenCookie `path`: every route of the site, so it works before the app narrows it to its event routes. */
export const DEFAULT_COOKIE_PATH = '/';
/** tokenCookie `sameSite`: `Strict`, so no other site's page can open a stream with the user's token. */
export const DEFAULT_COOKIE_SAME_SITE = 'Strict';

// --- createPublishHandler ---

/** `maxBodyBytes`: the stream side's bound; one request cannot pin more than one slow client can. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** `maxEvents` of one publish request: the in-memory history's per-channel count, so one request never evicts itself. */
export const DEFAULT_MAX_EVENTS = 1000;
/** `idempotency.windowMs`: the in-memory history's default age, so a retry within it is recognised. */
export const DEFAULT_IDEMPOTENCY_WINDOW = 5 * 60_000;

// --- operations (method arguments with a default) ---

/** `ready({ timeout })` (ms): long enough for a Redis and a proxy starting beside us, short enough for a start-up check. */
export const DEFAULT_READY_TIMEOUT = 5000;
/** `drain(windowMs)`: within Kubernetes' default 30 s grace period, with room left for close(). */
export const DEFAULT_DRAIN_MS = 10_000;
/** `dashboard({ interval })` (ms): a human watching; faster would only cost the server. */
export const DEFAULT_DASHBOARD_INTERVAL = 1000;
/** `dashboard({ topChannels })`: what fits on one screen. */
export const DEFAULT_DASHBOARD_TOP = 10;

/** The longest delay setTimeout/setInterval keep; past it Node fires after 1 ms instead. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The longest finite `history.maxAge` (ms): a year. Redis trims by "now − maxAge" as a stream
 * id, which must not fall before the epoch; longer ages are written Infinity.
 */
export const MAX_HISTORY_AGE = 365 * 24 * 3600_000;
