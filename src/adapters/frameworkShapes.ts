// The framework shapes live in src/frameworkShapes.ts. This re-export only keeps src/types.ts
// compiling until its import names that file (left to the merge with the branch that edits
// types.ts); delete it then.
export type { KoaContextLike, FastifyRequestLike, HonoContextLike } from '../frameworkShapes.js';
