/**
 * Where incident lines go: the shape Node apps already pass around. `console`, a `pino` or
 * `winston` logger, or any object with these methods fits. Each line is ONE string argument,
 * so every logger prints it as it is (pino puts it in `msg`).
 */
export interface Logger {
  /** Something stopped working: a dependency down, failed publishes or reads, a hook that threw. */
  error(message: string): unknown;
  /** Something the server handled but an operator should know: clients dropped by the bound. */
  warn(message: string): unknown;
  /** Something works again: a dependency that answers after being down. */
  info(message: string): unknown;
  /** Accepted for the shape of common loggers; incidents are never written at this level. */
  debug?(message: string): unknown;
}

/** The levels an incident line is written at. */
export type IncidentLevel = 'error' | 'warn' | 'info';
