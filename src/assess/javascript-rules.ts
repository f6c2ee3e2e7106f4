// Rules for JavaScript programs run by Node (tree-sitter-javascript): `import`, `require` and destructuring give
// names their module (`const { execSync } = require('child_process')` → child_process.execSync); calls are judged by
// what they are and what their literal arguments touch, shell commands by the shell rules.

import { ancestor, constInt, parseLoaded, walk, type SyntaxNode } from './parser.ts';
import { classifyPath, DELETE_LEVEL, READ_LEVEL, SECRET_NAME, WRITE_LEVEL } from './paths.ts';
import { BashRules } from './bash-rules.ts';
import { whereOf, type Findings } from './findings.ts';
import type { RiskLevel } from './types.ts';

/** A string literal's value (template strings without substitutions, + of literals), or undefined when computed. */
export function jsString(n: SyntaxNode | null | undefined): string | undefined {
  if (!n) return undefined;
  if (n.type === 'string') return n.namedChildren.map((c) => (c?.type === 'escape_sequence' ? JSON.parse(`"${c.text}"`) : c?.text ?? '')).join('');
  if (n.type === 'template_string') {
    if (n.namedChildren.some((c) => c?.type === 'template_substitution')) return undefined;
    return n.text.slice(1, -1);
  }
  if (n.type === 'binary_expression' && n.childForFieldName('operator')?.text === '+') {
    const l = jsString(n.childForFieldName('left')), r = jsString(n.childForFieldName('right'));
    return l !== undefined && r !== undefined ? l + r : undefined;
  }
  if (n.type === 'parenthesized_expression') return jsString(n.namedChildren[0]);
  return undefined;
}

function jsInt(n: SyntaxNode | null | undefined): number | undefined {
  return constInt(n, 'number', 'binary_expression');
}

const moduleName = (m: string) => m.replace(/^node:/, '').replace(/^fs\/promises$/, 'fs');
const NETWORK_MODULES = /^(net|http|https|http2|dgram|tls|dns|undici|axios|node-fetch|ws|got|request|superagent|socket\.io-client|ssh2|ftp|nodemailer)$/;
const CHILD = /^child_process\.(exec|execSync|spawn|spawnSync|execFile|execFileSync|fork)$/;
const DECODERS = /(atob\(|base64|['"]hex['"]|fromCharCode|decodeURIComponent|unescape\(|inflate|gunzip|brotliDecompress|\.reverse\(\))/;
const WRITES = /^fs\.(promises\.)?(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|mkdir|mkdirSync|symlink|symlinkSync|truncate|truncateSync)$/;
const READS = /^fs\.(promises\.)?(readFile|readFileSync|createReadStream|readdir|readdirSync)$/;
const DELETES = /^fs\.(promises\.)?(unlink|unlinkSync|rm|rmSync|rmdir|rmdirSync)$/;
const COPIES = /^fs\.(promises\.)?(copyFile|copyFileSync|cp|cpSync|rename|renameSync|link|linkSync)$/;

export class JavaScriptRules {
  private readonly aliases = new Map<string, string>();
  private readonly decoded = new Set<string>();
  private readonly f: Findings;
  private readonly bash: BashRules;
  constructor(f: Findings, bash = new BashRules(f)) {
    this.f = f;
    this.bash = bash;
  }

  program(root: SyntaxNode): void {
    if (root.hasError) this.f.add('js.parse', 'parse_error', 'MEDIUM', 'the JavaScript code does not parse cleanly: the rules may miss what it does', root);
    for (const n of walk(root)) {
      if (n.type === 'import_statement') this.importStatement(n);
      else if (n.type === 'variable_declarator') this.declarator(n);
    }
    for (const n of walk(root)) {
      if (n.type === 'call_expression') this.call(n);
      else if (n.type === 'new_expression') this.construct(n);
      else if (n.type === 'member_expression' || n.type === 'subscript_expression') this.member(n);
      else if (n.type === 'while_statement' || n.type === 'for_statement' || n.type === 'do_statement') this.loop(n);
      else if (n.type === 'string') {
        this.longString(n);
        const v = jsString(n);
        if (v && classifyPath(v) === 'secret') this.f.add('js.secret-path', 'file_read', 'HIGH', `names ${v}, a file that holds secrets`, n);
      }
    }
  }

  private resolve(n: SyntaxNode | null): string | undefined {
    if (!n) return undefined;
    if (n.type === 'identifier') return this.aliases.get(n.text) ?? n.text;
    if (n.type === 'member_expression') {
      const o = this.resolve(n.childForFieldName('object'));
      const p = n.childForFieldName('property')?.text;
      return o && p ? `${o}.${p}` : undefined;
    }
    if (n.type === 'subscript_expression') {
      // globalThis['ev' + 'al'], cp['exec' + 'Sync']: the name the index spells
      const o = this.resolve(n.childForFieldName('object'));
      const k = jsString(n.childForFieldName('index'));
      if (!o || k === undefined) return undefined;
      return /^(globalThis|global|window|self)$/.test(o) ? k : `${o}.${k}`;
    }
    if (n.type === 'parenthesized_expression') return this.resolve(n.namedChildren[0] ?? null);
    if (n.type === 'await_expression') return this.resolve(n.namedChildren[0] ?? null);
    if (n.type === 'call_expression') {
      const mod = this.required(n);
      return mod ? moduleName(mod) : undefined;
    }
    return undefined;
  }

  /** The module a require('x') or import('x') call names. */
  private required(n: SyntaxNode): string | undefined {
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'identifier' || fn.text !== 'require') {
      if (fn?.type !== 'import') return undefined;
    }
    return jsString(n.childForFieldName('arguments')?.namedChildren[0]);
  }

  private useModule(mod: string, n: SyntaxNode): void {
    const m = moduleName(mod);
    if (NETWORK_MODULES.test(m)) this.f.add('js.network-import', 'network', 'HIGH', `loads ${m}, a network module`, n);
    if (/^(ffi-napi|ffi|ref-napi|node-ffi)$/.test(m)) this.f.add('js.native', 'native', 'HIGH', `loads ${m}: native calls the rules cannot follow`, n);
  }

  private importStatement(n: SyntaxNode): void {
    const source = jsString(n.childForFieldName('source'));
    if (!source) return;
    const mod = moduleName(source);
    this.useModule(mod, n);
    for (const c of walk(n)) {
      if (c.type === 'import_clause') {
        for (const k of c.namedChildren) if (k?.type === 'identifier') this.aliases.set(k.text, mod);
      } else if (c.type === 'namespace_import') {
        const id = c.namedChildren.find((k) => k?.type === 'identifier');
        if (id) this.aliases.set(id.text, mod);
      } else if (c.type === 'import_specifier') {
        const name = c.childForFieldName('name')?.text, alias = c.childForFieldName('alias')?.text;
        if (name) this.aliases.set(alias ?? name, `${mod}.${name}`);
      }
    }
  }

  private declarator(n: SyntaxNode): void {
    const name = n.childForFieldName('name');
    const value = n.childForFieldName('value');
    if (!name || !value) return;
    const target = this.resolve(value);
    if (name.type === 'identifier') {
      if (target && (value.type === 'call_expression' ? this.required(value) !== undefined : true)) this.aliases.set(name.text, target);
      if (DECODERS.test(value.text) && /(atob|Buffer\.from|fromCharCode|decode|unescape|toString)/.test(value.text)) this.decoded.add(name.text);
    } else if (name.type === 'object_pattern' && target) {
      for (const p of name.namedChildren) {
        if (p?.type === 'shorthand_property_identifier_pattern') this.aliases.set(p.text, `${target}.${p.text}`);
        if (p?.type === 'pair_pattern') {
          const key = p.childForFieldName('key')?.text, v = p.childForFieldName('value');
          if (key && v?.type === 'identifier') this.aliases.set(v.text, `${target}.${key}`);
        }
      }
    }
  }

  private argList(n: SyntaxNode): SyntaxNode[] {
    return (n.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is SyntaxNode => !!c && c.type !== 'comment');
  }

  private call(n: SyntaxNode): void {
    const f = this.f;
    const fn = n.childForFieldName('function');
    const args = this.argList(n);
    const mod = this.required(n);
    if (fn?.type === 'import' || (fn?.type === 'identifier' && fn.text === 'require')) {
      if (mod === undefined) f.add('js.dynamic-import', 'dynamic_import', 'HIGH', `${fn.text === 'require' ? 'require' : 'import()'} of a module named at run time`, n);
      else {
        this.useModule(mod, n);
        if (fn.type === 'import') f.add('js.dynamic-import', 'dynamic_import', 'LOW', `import('${mod}')`, n);
      }
      return;
    }
    const name = this.resolve(fn);
    if (fn?.type === 'subscript_expression' && fn.childForFieldName('index')?.type !== 'string') {
      const k = jsString(fn.childForFieldName('index'));
      this.f.add('js.computed-member', 'obfuscation', 'HIGH', k === undefined ? 'calls a function picked by a name computed at run time' : `calls ${k} through a name built from pieces`, n);
    }
    if (!name) return;
    if (CHILD.test(name)) return this.childProcess(name, args, n);
    if (name === 'eval' || name === 'Function' || /^vm\.(runInNewContext|runInThisContext|runInContext|compileFunction|Script)$/.test(name) ||
      ((name === 'setTimeout' || name === 'setInterval') && args[0] && jsString(args[0]) !== undefined)) {
      return this.evaluate(name, args[0], n);
    }
    if (/^(fetch|WebSocket|XMLHttpRequest|EventSource)$/.test(name)) f.add('js.network-call', 'network', 'HIGH', `${name} uses the network`, n);
    if (/^(process\.binding|process\.dlopen|process\._linkedBinding)$/.test(name)) f.add('js.native', 'native', 'HIGH', `${name} reaches native code`, n);
    if (/^process\.(setuid|setgid|seteuid|setegid|setgroups|initgroups)$/.test(name)) f.add('js.setuid', 'privilege', 'HIGH', `${name} changes the process's user`, n);
    if (name === 'process.kill') f.add('js.kill', 'subprocess', 'MEDIUM', 'process.kill signals other processes', n);
    if (WRITES.test(name)) this.fileAccess(jsString(args[0]), true, n);
    else if (READS.test(name)) this.fileAccess(jsString(args[0]), false, n);
    else if (COPIES.test(name)) {
      this.fileAccess(jsString(args[1]), true, n);
      if (/rename/.test(name)) {
        const cls = classifyPath(jsString(args[0]));
        if (cls !== 'workspace' && cls !== 'temp') f.add('js.move-away', 'deletion', DELETE_LEVEL[cls], `${name} removes ${jsString(args[0]) ?? 'a computed path'}`, n);
      }
    } else if (DELETES.test(name)) {
      const path = jsString(args[0]);
      const cls = classifyPath(path);
      const recursive = /recursive\s*:\s*true/.test(args[1]?.text ?? '') || /rmdir/.test(name) === false && /rm(Sync)?$/.test(name) && /recursive/.test(n.text);
      let level: RiskLevel = DELETE_LEVEL[cls];
      if (!recursive && cls === 'computed') level = 'MEDIUM';
      if (!recursive && cls === 'workspace') level = 'LOW';
      f.add('js.delete', cls === 'root' || cls === 'system' ? 'destructive' : 'deletion', level, `${name}${recursive ? ' (recursive)' : ''} of ${path ?? 'a computed path'} (${cls})`, n);
    } else if (/^fs\.(promises\.)?(chmod|chmodSync|chown|chownSync|lchown|lchownSync)$/.test(name)) {
      const cls = classifyPath(jsString(args[0]));
      if (/0o?[4267][0-7]{3}|S_ISUID|S_ISGID/.test(args[1]?.text ?? '')) f.add('js.setuid-bit', 'privilege', 'HIGH', `${name} sets a set-uid or set-gid bit`, n);
      f.add('js.chmod', 'privilege', cls === 'system' || cls === 'root' || cls === 'secret' ? 'BLOCKED' : cls === 'outside' || cls === 'home' ? 'HIGH' : 'LOW', `${name} (${cls})`, n);
    } else if (/^fs\.(promises\.)?(open|openSync)$/.test(name)) {
      this.fileAccess(jsString(args[0]), /['"][wa+]/.test(args[1]?.text ?? ''), n);
    }
    if ((name === 'Buffer.alloc' || name === 'Buffer.allocUnsafe' || name === 'Array') && (jsInt(args[0]) ?? 0) >= 2 ** 30) {
      f.add('js.huge-alloc', 'resource_bomb', 'MEDIUM', `${name}(${args[0]!.text})`, n);
    }
    if (fn?.type === 'member_expression' && fn.childForFieldName('property')?.text === 'repeat' && (jsInt(args[0]) ?? 0) >= 2 ** 30) {
      f.add('js.huge-alloc', 'resource_bomb', 'MEDIUM', `repeats a string ${jsInt(args[0])} times`, n);
    }
    if (fn?.type === 'member_expression' && fn.childForFieldName('property')?.text === 'unref' && /detached\s*:\s*true/.test(n.parent?.text ?? '')) {
      f.add('js.detach', 'persistence', 'MEDIUM', 'a detached child left running', n);
    }
  }

  private construct(n: SyntaxNode): void {
    const name = this.resolve(n.childForFieldName('constructor'));
    const args = this.argList(n);
    if (name === 'Function' || name === 'vm.Script') this.evaluate(name, args.at(-1), n);
    if (name === 'WebSocket' || name === 'XMLHttpRequest' || name === 'EventSource') this.f.add('js.network-call', 'network', 'HIGH', `new ${name} uses the network`, n);
    if ((name === 'Array' || name === 'ArrayBuffer' || name === 'SharedArrayBuffer' || /^(Uint8|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64|BigInt64|BigUint64)Array$/.test(name ?? '')) &&
      (jsInt(args[0]) ?? 0) >= 2 ** 30) {
      this.f.add('js.huge-alloc', 'resource_bomb', 'MEDIUM', `new ${name}(${args[0]!.text})`, n);
    }
  }

  private childProcess(name: string, args: SyntaxNode[], n: SyntaxNode): void {
    const f = this.f;
    const cmd = jsString(args[0]);
    const list = args[1]?.type === 'array' ? args[1].namedChildren.map((c) => jsString(c)) : [];
    const shell = /^child_process\.exec(Sync)?$/.test(name) || /shell\s*:\s*true/.test(n.text);
    if (name === 'child_process.fork') {
      f.add('js.fork', 'subprocess', 'MEDIUM', 'child_process.fork starts another Node process', n);
    } else if (cmd !== undefined && shell) {
      f.add('js.subprocess', 'subprocess', 'MEDIUM', `${name} runs a shell command`, n);
      this.bash.text(list.length ? [cmd, ...list.filter((x) => x !== undefined)].join(' ') : cmd, whereOf(n));
    } else if (cmd !== undefined && list.every((x) => x !== undefined)) {
      f.add('js.subprocess', 'subprocess', 'MEDIUM', `${name} runs a program`, n);
      this.bash.argvRules([cmd, ...(list as string[])].map((t) => ({ text: t, literal: true })), whereOf(n));
    } else {
      f.add('js.subprocess-computed', 'subprocess', 'HIGH', `${name} runs a command computed at run time`, n);
    }
    const loop = ancestor(n, ['while_statement', 'for_statement', 'do_statement']);
    if (loop && this.forever(loop)) f.add('js.spawn-loop', 'resource_bomb', 'BLOCKED', 'starts processes in an endless loop', n);
  }

  private evaluate(name: string, arg: SyntaxNode | undefined, n: SyntaxNode): void {
    const f = this.f;
    const text = jsString(arg);
    if (arg && (DECODERS.test(arg.text) || [...walk(arg)].some((c) => c.type === 'identifier' && this.decoded.has(c.text)))) {
      f.add('js.decode-exec', 'obfuscation', 'BLOCKED', `${name} runs code that was decoded at run time`, n);
    } else if (text !== undefined) {
      f.add('js.eval-literal', 'eval', 'MEDIUM', `${name} of a literal string`, n);
      f.within(whereOf(n), () => parseLoaded('node', text, (root) => new JavaScriptRules(f, this.bash).program(root)));
    } else {
      f.add('js.eval', 'eval', 'HIGH', `${name} runs code computed at run time`, n);
    }
  }

  private member(n: SyntaxNode): void {
    const obj = n.childForFieldName('object');
    const compact = (x: SyntaxNode | null | undefined) => x?.text.replace(/\s/g, '');
    if (compact(obj) === 'process.env') {
      // process.env.X, process.env['X']
      this.environment(n.type === 'subscript_expression' ? jsString(n.childForFieldName('index')) : n.childForFieldName('property')?.text, n);
      return;
    }
    if (n.type !== 'member_expression' || compact(n) !== 'process.env') return;
    const p = n.parent;
    if (p && (p.type === 'member_expression' || p.type === 'subscript_expression') && compact(p.childForFieldName('object')) === 'process.env') return;
    if (p?.type === 'variable_declarator' && p.childForFieldName('name')?.type === 'object_pattern') {
      for (const k of p.childForFieldName('name')!.namedChildren) {
        const key = k?.type === 'pair_pattern' ? k.childForFieldName('key')?.text : k?.text;
        if (key) this.environment(key, k!);
      }
      return;
    }
    this.environment(undefined, n); // the whole environment: passed, printed or copied
  }

  private environment(key: string | undefined, n: SyntaxNode): void {
    if (key !== undefined && SECRET_NAME.test(key)) this.f.add('js.secret-env', 'environment', 'HIGH', `reads ${key}, a secret-named variable`, n);
    else this.f.add('js.environ', 'environment', 'MEDIUM', key ? `reads the environment variable ${key}` : 'reads the whole environment', n);
  }

  private fileAccess(path: string | undefined, writes: boolean, n: SyntaxNode): void {
    const cls = classifyPath(path);
    const shown = path ?? 'a computed path';
    const level = writes ? WRITE_LEVEL[cls] : READ_LEVEL[cls];
    if (level !== 'LOW') this.f.add(writes ? 'js.write' : 'js.read', writes ? (cls === 'device' ? 'destructive' : 'file_write') : 'file_read', level, `${writes ? 'writes' : 'reads'} ${shown} (${cls})`, n);
  }

  private forever(loop: SyntaxNode): boolean {
    if (loop.type === 'for_statement') return !loop.childForFieldName('condition') || /^\s*;?\s*$/.test(loop.childForFieldName('condition')!.text);
    const cond = loop.childForFieldName('condition')?.text.replace(/[()\s]/g, '');
    return cond === 'true' || cond === '1';
  }

  private loop(n: SyntaxNode): void {
    if (!this.forever(n)) return;
    const body = n.childForFieldName('body');
    if (body && !/\b(break|return|process\.exit|throw)\b/.test(body.text) && !/\b(spawn|exec|fork)\w*\(/.test(body.text)) {
      this.f.add('js.endless-loop', 'resource_bomb', 'MEDIUM', 'an endless loop with no break', n);
    }
  }

  private longString(n: SyntaxNode): void {
    const v = jsString(n);
    if (v && v.length >= 200 && /^[A-Za-z0-9+/=]+$/.test(v)) this.f.add('js.encoded-blob', 'obfuscation', 'MEDIUM', `a ${v.length}-character base64-like string`, n);
  }
}
