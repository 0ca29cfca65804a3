/**
 * The app's callbacks (hooks, the logger, `onIncident`) may be `async`. A promise they return
 * that rejects, with no handler, is an unhandled rejection, and Node's default ends the process
 * for it: one failing alert webhook would take every stream down. So whatever they return is
 * given a handler, the same one a synchronous throw gets.
 */

/** Calls `call`; a throw, or a rejection of the promise it returns, goes to `onError`. */
export function callApp(call: () => unknown, onError: (err: unknown) => void): void {
  let result: unknown;
  try {
    result = call();
  } catch (err) {
    onError(err);
    return;
  }
  catchRejection(result, onError);
}

/** Gives `result` a rejection handler when it is a promise (or any thenable). */
export function catchRejection(result: unknown, onError: (err: unknown) => void): void {
  if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, onError);
  }
}

/** For callbacks whose failures are the app's own business: nothing to report them to. */
export function ignoreRejection(): void {}
