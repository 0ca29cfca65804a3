import type { Incident, IncidentKind, Logger } from '../../src/index.js';
import { Waiters } from './wait.js';

/**
 * A logger and an `onIncident` hook in one: keeps every line (with its level) and every
 * incident, and lets a test wait for one. Pass `{ logger: log, onIncident: log.hook }`.
 */
export class IncidentLog implements Logger {
  readonly lines: Array<{ level: string; text: string }> = [];
  readonly incidents: Incident[] = [];
  private readonly waiters = new Waiters();

  error = (text: string): void => this.line('error', text);
  warn = (text: string): void => this.line('warn', text);
  info = (text: string): void => this.line('info', text);
  debug = (text: string): void => this.line('debug', text);
  hook = (incident: Incident): void => {
    this.incidents.push(incident);
    this.waiters.notify();
  };

  of(kind: IncidentKind): Incident[] {
    return this.incidents.filter((incident) => incident.kind === kind);
  }

  /** Waits for the `n`th incident of `kind` (the first by default). */
  async next(kind: IncidentKind, ms: number, n = 1): Promise<Incident> {
    await this.waiters.wait(() => this.of(kind).length >= n, ms, `incident ${kind} #${n}`);
    return this.of(kind)[n - 1]!;
  }

  private line(level: string, text: string): void {
    this.lines.push({ level, text });
  }
}
