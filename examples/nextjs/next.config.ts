import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// The repository root. `gripstream` is installed as `file:../..`, i.e. node_modules/gripstream
// is a symlink to ../.. and its files (dist/, and its own dependencies in ../../node_modules)
// live outside this app's directory. Turbopack only reads files under its root, and Next's
// output tracing only follows files under its tracing root, so both point at the repo root.
// (Next infers that root itself from the lockfile at ../.., but prints a warning while doing so.)
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const nextConfig: NextConfig = {
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
};

export default nextConfig;
