import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// Only because this example links the library from this repository (`"gripstream": "file:../.."`):
// node_modules/gripstream is then a symlink to ../.., so gripstream's files (dist/) and its own
// dependencies (../../node_modules) live outside this app's directory. Turbopack reads no file
// outside its root, and output tracing (what `next start`/standalone output needs at runtime)
// follows none outside its tracing root, so both are set to the repository root. Without this,
// Next infers the same root from the lockfile at ../.. but warns about "multiple lockfiles".
// An app that installs gripstream from the registry needs none of it: `{}` is enough, as in the
// reference README (no transpilePackages: dist/ is plain ESM JavaScript).
const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

const nextConfig: NextConfig = {
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
};

export default nextConfig;
