import { StreamRefusedError } from '../errors.js';
import type { RequestView } from './RequestView.js';
import type { FrameworkRequest } from '../types.js';
import { refusalOf, refusalOfError, type AuthorizeResult, type StreamRefusal } from './refusal.js';

/**
 * One check a stream must pass once its channels are known, beside `authorize`: a subscription
 * token, say. It reads the request through the view (headers, cookies, URL) and answers like
 * `authorize`: true, false, or a refusal; it may also throw `StreamRefusedError`.
 */
export type AccessGate = (req: RequestView, channels: readonly string[]) => AuthorizeResult | Promise<AuthorizeResult>;

/**
 * Runs the gates in order, then `authorize` with the framework's request: the first refusal
 * wins and the rest are not asked (a 401 for a missing token need not reach the app's check).
 * `undefined` means every check let the stream open.
 */
export async function checkAccess(
  gates: readonly AccessGate[],
  authorize: ((req: FrameworkRequest, channels: readonly string[]) => AuthorizeResult | Promise<AuthorizeResult>) | undefined,
  req: RequestView,
  channels: readonly string[],
): Promise<StreamRefusal | undefined> {
  try {
    for (const gate of gates) {
      const refusal = refusalOf(await gate(req, channels), 'an access gate');
      if (refusal !== undefined) return refusal;
    }
    if (authorize === undefined) return undefined;
    return refusalOf(await authorize(req.subject, channels));
  } catch (err) {
    if (err instanceof StreamRefusedError) return refusalOfError(err);
    throw err;
  }
}
