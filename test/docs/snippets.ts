import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The code blocks of the project's Markdown, and what the docs convention asks of each:
 * a ```ts block is type-checked; `<!-- snippet: run -->` on the line directly before it also
 * runs it; `<!-- snippet: skip (reason) -->` there opts it out (a fragment).
 */
export interface Snippet {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the block's first code line in that file. */
  line: number;
  lang: string;
  code: string;
  mode: 'check' | 'run' | 'skip';
  /** Why a block is skipped (required: a bare skip is an error). */
  reason?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)[^\n]*$/;
const DIRECTIVE = /^<!--\s*snippet:\s*(run|skip)\s*(?:\((.*)\))?\s*-->$/;

/** Languages the convention type-checks. */
export const TYPED = new Set(['ts', 'typescript', 'mts']);

export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', fence = '```', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const previous = i > 0 ? lines[i - 1]!.trim() : '';
    const directive = DIRECTIVE.exec(previous);
    const snippet: Snippet = {
      file,
      line: i + 2,
      lang: lang.toLowerCase(),
      code: body.join('\n'),
      mode: directive === null ? 'check' : (directive[1] as 'run' | 'skip'),
    };
    if (directive?.[2] !== undefined) snippet.reason = directive[2].trim();
    snippets.push(snippet);
    i = j;
  }
  return snippets;
}

/** README.md, CHANGELOG.md and every Markdown file under docs/ (not the generated API reference). */
export function markdownFiles(root: string): string[] {
  const files = ['README.md', 'CHANGELOG.md'].filter((name) => fs.existsSync(path.join(root, name)));
  const docs = path.join(root, 'docs');
  if (fs.existsSync(docs)) {
    for (const entry of fs.readdirSync(docs, { withFileTypes: true, recursive: true })) {
      const full = path.join(entry.parentPath, entry.name);
      const relative = path.relative(root, full);
      if (entry.isFile() && entry.name.endsWith('.md') && !relative.startsWith(path.join('docs', 'api') + path.sep)) files.push(relative);
    }
  }
  return files.sort();
}

/** A block written out as a module, and where its lines came from. */
export interface WrittenSnippet {
  snippet: Snippet;
  path: string;
}

/**
 * Writes each typed block as its own module under `dir` (inside the repository, so that
 * `'gripstream'` resolves to the package itself and examples' dependencies to node_modules).
 * A block with no import or export gets `export {}` so that it is a module (top-level await,
 * no names shared with other blocks); the line is appended, so line numbers stay the same.
 */
export function writeSnippets(dir: string, snippets: readonly Snippet[]): WrittenSnippet[] {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return snippets.map((snippet, index) => {
    const name = `${snippet.file.replace(/[^\w]+/g, '_')}_${snippet.line}_${index}.ts`;
    const file = path.join(dir, name);
    const isModule = /^\s*(import|export)\s/m.test(snippet.code);
    fs.writeFileSync(file, snippet.code + (isModule ? '\n' : '\nexport {};\n'));
    return { snippet, path: file };
  });
}

/** The compiler options blocks are checked under: the project's strictness, ESM as users write it. */
export const SNIPPET_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noUncheckedIndexedAccess: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  // NestJS guides use its decorators, which need the legacy form.
  experimentalDecorators: true,
};

/** One program for every block: one type-check, each error reported at its Markdown line. */
export function typeCheck(written: readonly WrittenSnippet[], options: ts.CompilerOptions = SNIPPET_OPTIONS): string[] {
  const program = ts.createProgram(
    written.map((entry) => entry.path),
    options,
  );
  const byPath = new Map(written.map((entry) => [path.resolve(entry.path), entry.snippet]));
  const problems: string[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const source = diagnostic.file === undefined ? undefined : byPath.get(path.resolve(diagnostic.file.fileName));
    if (diagnostic.file === undefined || source === undefined) {
      problems.push(`(outside the snippets) ${diagnostic.file?.fileName ?? ''}: ${message}`);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    problems.push(`${source.file}:${source.line + line}: TS${diagnostic.code}: ${message}`);
  }
  return problems;
}
