import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

export type Platform = 'express' | 'fastify';

/** The Nest application on either HTTP platform; the controller serves both. */
export function createNestApp(platform: Platform): Promise<INestApplication> {
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  return NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
}

// PLATFORM=express|fastify (default express), PORT=0 picks a free port. Try:
//   curl -N http://127.0.0.1:3000/rooms/1/events
//   curl -d text=hi http://127.0.0.1:3000/rooms/1/messages
const platform: Platform = process.env.PLATFORM === 'fastify' ? 'fastify' : 'express';
const app = await createNestApp(platform);
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
console.log(`gripstream NestJS example (${platform}) on ${await app.getUrl()}`);
