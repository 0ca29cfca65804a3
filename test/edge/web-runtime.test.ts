import { builtinModules } from 'node:module';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

// `gripstream/edge` in a web-standard runtime: the entry bundled the way edge bundlers resolve
// packages (browser/worker conditions, no Node built-ins), then run in a V8 context that has
// only web globals: no Buffer, no process, no require. That is what Next.js's Edge runtime and
// workers give; test/frameworks/nextjs.test.ts runs it in the real Edge runtime as well.

const WEB_GLOBALS = [
  'Request', 'Response', 'Headers', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'ReadableStream',
  'AbortController', 'AbortSignal', 'DOMException', 'fetch', 'crypto', 'atob', 'btoa', 'structuredClone',
  'setTimeout', 'clearTimeout', 'queueMicrotask', 'console',
] as const;

async function bundle(format: 'esm' | 'iife'): Promise<esbuild.BuildResult<{ write: false; metafile: true }>> {
  return esbuild.build({
    entryPoints: [new URL('../../src/edge.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    format,
    globalName: format === 'iife' ? 'gripstreamEdge' : undefined,
    mainFields: ['browser', 'module', 'main'],
    conditions: ['edge-light', 'worker', 'browser', 'import', 'default'],
    logLevel: 'silent',
  });
}

interface EdgeModule {
  EdgeEventStream: new (options: Record<string, unknown>) => {
    fetch(request: Request, channels: string | string[] | ((r: Request) => string), params?: Record<string, unknown>): Promise<Response>;
  };
}

describe('gripstream/edge', () => {
  it('bundles with no Node built-in module and no Buffer anywhere in it', async () => {
    const result = await bundle('esm');
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imported.filter((path) => builtins.has(path) || path.startsWith('node:'))).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/\bBuffer\b/);
  });

  it('answers a proxied request with a GRIP hold, in a context with only web globals', async () => {
    const code = (await bundle('iife')).outputFiles[0]!.text;
    const sandbox: Record<string, unknown> = {};
    for (const name of WEB_GLOBALS) sandbox[name] = globalThis[name];
    const context = vm.createContext(sandbox);
    vm.runInContext(`${code};globalThis.gripstreamEdge = gripstreamEdge;`, context);
    expect(vm.runInContext('typeof Buffer + typeof process + typeof require', context)).toBe('undefinedundefinedundefined');
    const { EdgeEventStream } = context.gripstreamEdge as EdgeModule;
    const eventStream = new EdgeEventStream({ grip: 'http://127.0.0.1:1/' });
    const held = await eventStream.fetch(
      new Request('http://edge/events?room=café', { headers: { 'Grip-Sig': 'anything', accept: 'text/event-stream' } }),
      'room-{room}',
    );
    expect(held.status).toBe(200);
    expect(held.headers.get('grip-hold')).toBe('stream');
    // UTF-8 bytes of the channel name, one per character (what Pushpin reads).
    expect(held.headers.get('grip-channel')).toBe('events-room-cafÃ©');
    expect(await held.text()).toBe('event: stream-open\ndata: \n\n');
    const direct = await eventStream.fetch(new Request('http://edge/events'), 'news');
    expect(direct.status).toBe(503);
    expect(await direct.text()).toMatch(/through its GRIP proxy/);
    // A channel name long enough to need its UTF-8 length counted, without Buffer.
    const long = await eventStream.fetch(new Request('http://edge/x', { headers: { 'Grip-Sig': 's' } }), 'é'.repeat(200));
    expect([long.status, await long.text()]).toEqual([400, 'channel name is longer than 255 bytes, got 400 bytes: shorten it (a hash or an id instead of the text)\n']);
  });
});
