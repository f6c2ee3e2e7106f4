// Tree-sitter in WebAssembly (@vscode/tree-sitter-wasm: the runtime and the Python, Bash and JavaScript grammars),
// loaded once per process.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { AssessLanguage } from './types.ts';

const require = createRequire(import.meta.url);

// The package's types describe web-tree-sitter's classes; only the parts the rules use are named here.
export interface SyntaxNode {
  readonly type: string;
  readonly text: string;
  readonly isNamed: boolean;
  readonly isError: boolean;
  readonly isMissing: boolean;
  readonly hasError: boolean;
  readonly startPosition: { row: number; column: number };
  readonly parent: SyntaxNode | null;
  readonly children: (SyntaxNode | null)[];
  readonly namedChildren: (SyntaxNode | null)[];
  childForFieldName(name: string): SyntaxNode | null;
}
interface Tree { readonly rootNode: SyntaxNode; delete(): void }
interface Parser { setLanguage(l: unknown): void; parse(text: string): Tree | null; delete(): void }
interface TreeSitter {
  Parser: { init(opts?: unknown): Promise<void>; new(): Parser };
  Language: { load(input: string | Uint8Array): Promise<unknown> };
}

const GRAMMAR: Record<AssessLanguage, string> = {
  python: 'tree-sitter-python.wasm',
  bash: 'tree-sitter-bash.wasm',
  node: 'tree-sitter-javascript.wasm',
};

let loading: Promise<Record<AssessLanguage, Parser>> | undefined;

function load(): Promise<Record<AssessLanguage, Parser>> {
  loading ??= (async () => {
    const main = require.resolve('@vscode/tree-sitter-wasm');
    const dir = dirname(main);
    const ts = require(main) as TreeSitter;
    await ts.Parser.init({ locateFile: (file: string) => join(dir, file) });
    const parsers = {} as Record<AssessLanguage, Parser>;
    for (const [lang, file] of Object.entries(GRAMMAR) as [AssessLanguage, string][]) {
      const p = new ts.Parser();
      p.setLanguage(await ts.Language.load(readFileSync(join(dir, file))));
      parsers[lang] = p;
    }
    return parsers;
  })();
  return loading;
}

let loaded: Record<AssessLanguage, Parser> | undefined;

/** Loads the runtime and the grammars (once); parseLoaded works after it settles. */
export async function loadGrammars(): Promise<void> {
  loaded = await load();
}

/**
 * The syntax tree of `code`, handed to `use` and freed afterwards. Synchronous, so the rules can parse an embedded
 * program (a shell command in a Python string) while they walk; loadGrammars() must have settled.
 */
export function parseLoaded<T>(language: AssessLanguage, code: string, use: (root: SyntaxNode) => T): T {
  if (!loaded) throw new Error('loadGrammars() has not settled');
  const tree = loaded[language].parse(code);
  if (!tree) throw new Error(`tree-sitter returned no tree for ${language}`);
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}

/** Every node below `root` (named ones only), depth first, in source order. */
export function* walk(root: SyntaxNode): Generator<SyntaxNode> {
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    yield n;
    const kids = n.namedChildren;
    for (let i = kids.length - 1; i >= 0; i--) if (kids[i]) stack.push(kids[i]!);
  }
}

/** The nearest ancestor of `n` whose type is one of `types`. */
export function ancestor(n: SyntaxNode, types: readonly string[]): SyntaxNode | undefined {
  for (let p = n.parent; p; p = p.parent) if (types.includes(p.type)) return p;
  return undefined;
}

/**
 * A small constant integer expression's value (literals, parentheses, +, *, **, <<), for allocation sizes; `literal`
 * and `binary` are the grammar's node types for an integer literal and a binary operation.
 */
export function constInt(n: SyntaxNode | null | undefined, literal: string, binary: string): number | undefined {
  if (!n) return undefined;
  if (n.type === literal) return Number(n.text.replace(/_/g, ''));
  if (n.type === 'parenthesized_expression') return constInt(n.namedChildren[0], literal, binary);
  if (n.type === binary) {
    const l = constInt(n.childForFieldName('left'), literal, binary), r = constInt(n.childForFieldName('right'), literal, binary);
    if (l === undefined || r === undefined) return undefined;
    const op = n.childForFieldName('operator')?.text;
    return op === '*' ? l * r : op === '**' ? l ** r : op === '+' ? l + r : op === '<<' ? l * 2 ** r : undefined;
  }
  return undefined;
}
