import { spawn } from 'node:child_process';
const t0 = Date.now();
const child = spawn(process.execPath, ['--import', 'tsx', process.argv[2]!], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', async (c: Buffer) => {
  const base = c.toString().match(/http:\/\/127\.0\.0\.1:\d+/)![0];
  console.log('up', Date.now() - t0);
  const arg = process.argv[3];
  if (arg === 'pub') { const r = await fetch(`${base}/publish/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }); await r.text(); }
  const t1 = Date.now();
  child.kill('SIGTERM');
  child.on('exit', (code) => console.log('exit', code, Date.now() - t1));
});
