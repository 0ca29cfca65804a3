'use client';

import { useEffect, useState } from 'react';

type Line = { at: string; source: string; event: string; data: string };

const STREAMS = [
  { source: 'pages /api/events', url: '/api/events' },
  { source: 'app /api/stream', url: '/api/stream?channel=test' },
];

export default function Page() {
  const [lines, setLines] = useState<Line[]>([]);
  const [text, setText] = useState('hello');

  useEffect(() => {
    const sources = STREAMS.map(({ source, url }) => {
      const es = new EventSource(url);
      const add = (event: string) => (e: MessageEvent<string>) =>
        setLines((prev) => [{ at: new Date().toLocaleTimeString(), source, event, data: e.data }, ...prev].slice(0, 50));
      es.addEventListener('stream-open', add('stream-open'));
      es.addEventListener('message', add('message'));
      return es;
    });
    return () => sources.forEach((es) => es.close());
  }, []);

  async function publish(via: string) {
    await fetch(via, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'test', event: 'message', data: { text } }),
    });
  }

  return (
    <main>
      <h1>gripstream + Next.js</h1>
      <p>
        <input value={text} onChange={(e) => setText(e.target.value)} />{' '}
        <button onClick={() => publish('/api/publish')}>publish (pages router)</button>{' '}
        <button onClick={() => publish('/api/app-publish')}>publish (app router)</button>
      </p>
      <ul>
        {lines.map((line, i) => (
          <li key={i}>
            <code>
              {line.at} [{line.source}] {line.event}: {line.data}
            </code>
          </li>
        ))}
      </ul>
    </main>
  );
}
