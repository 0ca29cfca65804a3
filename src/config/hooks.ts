import type { RequestHooks } from '../types.js';

/**
 * The request hooks given in `options`, bound to it: a hook written as a method may use `this`.
 * Only the hooks given are set, so a caller can tell "no hook" from a hook.
 */
export function boundHooks(options: RequestHooks): RequestHooks {
  const hooks: RequestHooks = {};
  if (options.authorize !== undefined) hooks.authorize = options.authorize.bind(options);
  if (options.onConnect !== undefined) hooks.onConnect = options.onConnect.bind(options);
  if (options.onDisconnect !== undefined) hooks.onDisconnect = options.onDisconnect.bind(options);
  if (options.onRefused !== undefined) hooks.onRefused = options.onRefused.bind(options);
  return hooks;
}
