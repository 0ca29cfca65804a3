import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Every name @fanoutio/eventstream 2.0.1 exports must import from gripstream: a type import
// that stops compiling breaks the drop-in promise of docs/migrating-from-eventstream.md.

const require = createRequire(import.meta.url);
const referenceTypes = path.join(path.dirname(require.resolve('@fanoutio/eventstream/package.json')), 'build', 'main.d.ts');

function exportedNames(declarations: string): string[] {
  const names: string[] = [];
  for (const match of declarations.matchAll(/export (?:type )?\{([^}]+)\}/g)) {
    for (const part of match[1]!.split(',')) names.push(part.trim().split(/\s+as\s+/).pop()!);
  }
  return names.filter((name) => name !== '');
}

describe('the names @fanoutio/eventstream 2.0.1 exports', () => {
  it('all import from gripstream (types with `import type`)', () => {
    const names = exportedNames(fs.readFileSync(referenceTypes, 'utf8'));
    expect(names).toEqual(expect.arrayContaining(['IServerSentEvent', 'IEventStreamConfig', 'IChannelsBuilder', 'IAddressedEvent', 'EventStream', 'getEventStreamSingleton', 'GripPublisherSpec']));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gripstream-migration-'));
    const file = path.join(dir, 'uses.ts');
    const source = path.resolve('src/index.ts');
    fs.writeFileSync(
      file,
      `import type { ${names.join(', ')} } from ${JSON.stringify(source.replace(/\.ts$/, '.js'))};\n` +
        `const event: IServerSentEvent = { event: 'm', data: { a: 1 } };\n` +
        `const config: IEventStreamConfig = { gripPrefix: 'events-' };\n` +
        `const builder: IChannelsBuilder = () => ['a'];\n` +
        `export { event, config, builder };\n`,
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
    });
    const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });
});
