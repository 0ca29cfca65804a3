import v8 from 'node:v8';
import vm from 'node:vm';

/** A full garbage collection, for memory figures (vitest runs without --expose-gc). */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();
