import express from 'express';
import express4 from 'express4';
import type { Listenable } from './server.js';

// Loose on purpose: the same tests mount EventStream handlers on Express 5 and Express 4,
// whose type packages differ; both accept connect-style `(req, res, next)` functions.
type Handler = (req: never, res: never, next: never) => unknown;
type ErrorHandler = (err: never, req: never, res: never, next: never) => unknown;

export interface MiniApp extends Listenable {
  get(path: string, ...handlers: Handler[]): unknown;
  use(handler: Handler | ErrorHandler): unknown;
}

export interface Framework {
  name: string;
  create(): MiniApp;
}

export const FRAMEWORKS: Framework[] = [
  { name: 'express 5', create: () => express() as unknown as MiniApp },
  { name: 'express 4', create: () => express4() as unknown as MiniApp },
];
