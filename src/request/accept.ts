/**
 * Whether an `Accept` header allows `text/event-stream`. A missing header accepts anything.
 * The most specific matching media range decides (RFC 9110 §12.5.1), so
 * `text/event-stream;q=0, *\/*` refuses it while `text/*` or `*\/*` alone accept it.
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  // What EventSource sends: no parsing (and no garbage) for it.
  if (accept === undefined || accept === 'text/event-stream' || accept.trim() === '') return true;
  let bestSpecificity = -1;
  let bestQuality = 0;
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.split(';');
    const specificity = specificityFor(mediaRange.trim().toLowerCase());
    if (specificity <= bestSpecificity) continue;
    bestSpecificity = specificity;
    bestQuality = qualityOf(params);
  }
  return bestSpecificity >= 0 && bestQuality > 0;
}

function specificityFor(mediaRange: string): number {
  if (mediaRange === 'text/event-stream') return 2;
  if (mediaRange === 'text/*') return 1;
  if (mediaRange === '*/*') return 0;
  return -1;
}

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'q') {
      const q = Number(value.trim());
      return Number.isFinite(q) ? q : 0;
    }
  }
  return 1;
}
