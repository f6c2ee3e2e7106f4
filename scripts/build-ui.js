// Builds the web UI (ui/) into build/ui/ with esbuild: minified ES modules (the entry with the chat page; the
// Markdown renderer and the admin pages as chunks loaded when needed) and one stylesheet, named by their content
// hash (served as immutable), and index.html pointing at the entry. Everything the page needs is in the bundle
// (Preact, marked, DOMPurify, highlight.js): no CDN, works offline. Run by scripts/build.js (postinstall).
// esbuild's install script (which only swaps its launcher for the binary) need not run: its JS API finds the
// binary in the @esbuild/<platform> package npm installs beside it.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(root, 'ui');
export const UI_OUT = join(root, 'build/ui');

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Whether build/ui/index.html is newer than every source of the UI (and this script). */
export function uiUpToDate() {
  const index = join(UI_OUT, 'index.html');
  if (!existsSync(index)) return false;
  const src = Math.max(newest(join(uiDir, 'src')), statSync(join(uiDir, 'index.html')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  return statSync(index).mtimeMs >= src;
}

/** Builds the UI; returns false (and says why) when esbuild is not installed. */
export async function buildUi({ outDir = UI_OUT, quiet = false } = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('build: esbuild is not installed (a devDependency); the web UI was not built.\n');
    return false;
  }
  const tmp = `${outDir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: join(uiDir, 'src/main.tsx') },
    bundle: true, splitting: true, minify: true, format: 'esm', target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    jsx: 'automatic', jsxImportSource: 'preact', outdir: join(tmp, 'assets'), entryNames: '[name]-[hash]', chunkNames: '[name]-[hash]',
    legalComments: 'linked', metafile: true, logLevel: 'warning', absWorkingDir: root,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
  const js = entry && basename(entry[0]);
  const css = entry?.[1].cssBundle && basename(entry[1].cssBundle);
  if (!js || !css) throw new Error(`build: the UI bundle lacks a script or a stylesheet (${outputs.join(', ')})`);
  // the chunks the entry imports statically, fetched with it rather than after it
  const preload = entry[1].imports.filter((i) => i.kind === 'import-statement').map((i) => `<link rel="modulepreload" href="./assets/${basename(i.path)}">`);
  const html = readFileSync(join(uiDir, 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css)
    .replace('<!--%PRELOAD%-->', preload.join('\n'));
  writeFileSync(join(tmp, 'index.html'), html);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  if (!quiet) process.stdout.write(`build: build/ui (${js}, ${css})\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) process.exit(uiUpToDate() ? 0 : 1);
  await buildUi();
}
