// Rules for Python programs (tree-sitter-python): calls are resolved through the program's imports (`import
// subprocess as sp`, `from os import system`) to dotted names, and judged by what they are and what their literal
// arguments touch; shell commands passed as literals are judged by the shell rules.

import { ancestor, constInt, parseLoaded, walk, type SyntaxNode } from './parser.ts';
import { classifyPath, DELETE_LEVEL, READ_LEVEL, SECRET_NAME, WRITE_LEVEL } from './paths.ts';
import { BashRules } from './bash-rules.ts';
import { whereOf, type Findings } from './findings.ts';
import type { RiskLevel } from './types.ts';

/** The value of a string literal, or undefined when it is computed (f-string interpolation, a name, a call). */
export function pyString(n: SyntaxNode | null | undefined): string | undefined {
  if (!n) return undefined;
  if (n.type === 'string') {
    if (n.namedChildren.some((c) => c?.type === 'interpolation')) return undefined;
    return n.namedChildren.filter((c) => c?.type === 'string_content').map((c) => c!.text).join('');
  }
  if (n.type === 'concatenated_string') {
    const parts = n.namedChildren.map((c) => pyString(c));
    return parts.every((p) => p !== undefined) ? parts.join('') : undefined;
  }
  if (n.type === 'binary_operator' && n.childForFieldName('operator')?.text === '+') {
    const l = pyString(n.childForFieldName('left')), r = pyString(n.childForFieldName('right'));
    return l !== undefined && r !== undefined ? l + r : undefined;
  }
  if (n.type === 'call') {
    // os.path.expanduser("~/x"), os.path.join("a", "b"), str("x"): the path they make
    const fn = n.childForFieldName('function')?.text ?? '';
    const args = (n.childForFieldName('arguments')?.namedChildren ?? []).filter((c) => c && c.type !== 'keyword_argument').map((c) => pyString(c));
    if (!args.length || args.some((a) => a === undefined)) return undefined;
    if (/(^|\.)(expanduser|expandvars|abspath|normpath|realpath|str|Path|PurePath)$/.test(fn) && args.length === 1) return args[0];
    if (/(^|\.)join$/.test(fn) && /path/.test(fn)) return (args as string[]).reduce((a, b) => (b.startsWith('/') ? b : `${a.replace(/\/$/, '')}/${b}`));
  }
  return undefined;
}

/** A small integer expression's value (literals, +, *, **), for allocation sizes. */
function pyInt(n: SyntaxNode | null | undefined): number | undefined {
  return constInt(n, 'integer', 'binary_operator');
}

const SUBPROCESS = /^(subprocess\.(run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|os\.(system|popen|spawn\w*|exec\w*|posix_spawnp?)|pty\.spawn|commands\.getoutput|asyncio\.create_subprocess_(shell|exec))$/;
const SHELL_STRING = /^(os\.(system|popen)|subprocess\.(getoutput|getstatusoutput)|commands\.getoutput|asyncio\.create_subprocess_shell)$/;
const NETWORK_MODULES = /^(socket|requests|urllib\.request|urllib3|http\.client|httpx|aiohttp|ftplib|smtplib|poplib|imaplib|telnetlib|paramiko|websocket|websockets|xmlrpc\.client|socketserver|http\.server|asyncssh|pycurl|dns|scapy)(\.|$)/;
const DECODERS = /(b64decode|b32decode|b16decode|a85decode|b85decode|decodebytes|decodestring|unhexlify|fromhex|decompress|\.decode\(|codecs\.decode|rot13|rot_13|marshal\.loads|zlib|bz2|lzma|gzip|chr\()/;
const DELETE = /^(os\.(remove|unlink|rmdir|removedirs)|shutil\.rmtree)$/;
const COPY_DEST = /^shutil\.(copy|copy2|copyfile|copytree|move)$/;

export class PythonRules {
  private readonly aliases = new Map<string, string>();
  private readonly decoded = new Set<string>();
  private readonly f: Findings;
  private readonly bash: BashRules;
  constructor(f: Findings, bash = new BashRules(f)) {
    this.f = f;
    this.bash = bash;
  }

  program(root: SyntaxNode): void {
    if (root.hasError) this.f.add('py.parse', 'parse_error', 'MEDIUM', 'the Python code does not parse cleanly: the rules may miss what it does', root);
    for (const n of walk(root)) {
      if (n.type === 'import_statement' || n.type === 'import_from_statement') this.imports(n);
      if (n.type === 'assignment') this.assignment(n);
    }
    for (const n of walk(root)) {
      if (n.type === 'call') this.call(n);
      else if (n.type === 'while_statement') this.loop(n);
      else if (n.type === 'attribute' || n.type === 'identifier') this.name(n);
      else if (n.type === 'string') {
        this.longString(n);
        this.secretPath(n);
      }
      else if (n.type === 'binary_operator') this.allocation(n);
    }
  }

  private resolve(n: SyntaxNode | null): string | undefined {
    if (!n) return undefined;
    if (n.type === 'identifier') return this.aliases.get(n.text) ?? n.text;
    if (n.type === 'attribute') {
      const o = this.resolve(n.childForFieldName('object'));
      const a = n.childForFieldName('attribute')?.text;
      return o && a ? `${o}.${a}` : undefined;
    }
    return undefined;
  }

  private imports(n: SyntaxNode): void {
    const modules: string[] = [];
    if (n.type === 'import_statement') {
      for (const c of n.namedChildren) {
        if (c?.type === 'dotted_name') modules.push(c.text);
        if (c?.type === 'aliased_import') {
          const name = c.childForFieldName('name')!.text;
          this.aliases.set(c.childForFieldName('alias')!.text, name);
          modules.push(name);
        }
      }
    } else {
      const mod = n.childForFieldName('module_name')?.text ?? '';
      modules.push(mod);
      for (const c of n.namedChildren) {
        if (!c || c === n.childForFieldName('module_name')) continue;
        if (c.type === 'dotted_name') this.aliases.set(c.text, `${mod}.${c.text}`);
        if (c.type === 'aliased_import') this.aliases.set(c.childForFieldName('alias')!.text, `${mod}.${c.childForFieldName('name')!.text}`);
        if (c.type === 'dotted_name' || c.type === 'aliased_import') modules.push(`${mod}.${c.childForFieldName('name')?.text ?? c.text}`);
      }
    }
    for (const m of modules) {
      if (NETWORK_MODULES.test(m)) this.f.add('py.network-import', 'network', 'HIGH', `imports ${m}, a network module`, n);
      if (/^(ctypes|cffi)(\.|$)/.test(m)) this.f.add('py.native', 'native', 'HIGH', `imports ${m}: calls into native code the rules cannot follow`, n);
      if (/^pip(\.|$)/.test(m)) this.f.add('py.pip', 'package_install', 'HIGH', 'imports pip to install packages', n);
    }
  }

  private assignment(n: SyntaxNode): void {
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (left?.type === 'identifier' && right && (right.type === 'call' || right.type === 'binary_operator') && DECODERS.test(right.text)) {
      this.decoded.add(left.text);
    }
  }

  private args(n: SyntaxNode): { positional: SyntaxNode[]; keyword: Map<string, SyntaxNode> } {
    const list = n.childForFieldName('arguments');
    const positional: SyntaxNode[] = [];
    const keyword = new Map<string, SyntaxNode>();
    for (const c of list?.namedChildren ?? []) {
      if (!c) continue;
      if (c.type === 'keyword_argument') keyword.set(c.childForFieldName('name')!.text, c.childForFieldName('value')!);
      else if (c.type !== 'comment') positional.push(c);
    }
    return { positional, keyword };
  }

  private call(n: SyntaxNode): void {
    const f = this.f;
    const fn = n.childForFieldName('function');
    const name = this.resolve(fn);
    const { positional, keyword } = this.args(n);
    const first = positional[0];
    if (!name) {
      // Path('x').write_text(…), Path(p).unlink(), open(…).write(…)
      if (fn?.type === 'attribute') this.pathMethod(fn, n);
      return;
    }
    if (SUBPROCESS.test(name)) {
      const shell = SHELL_STRING.test(name) || keyword.get('shell')?.text === 'True';
      const text = pyString(first);
      const list = first && (first.type === 'list' || first.type === 'tuple') ? first.namedChildren.map((c) => pyString(c)) : undefined;
      if (text !== undefined && (shell || /\s/.test(text))) {
        f.add('py.subprocess', 'subprocess', 'MEDIUM', `${name} runs a shell command`, n);
        this.bash.text(text, whereOf(n));
      } else if (text !== undefined || (list && list.every((x) => x !== undefined))) {
        f.add('py.subprocess', 'subprocess', 'MEDIUM', `${name} runs a program`, n);
        this.bash.argvRules((list ?? [text!]).map((t) => ({ text: t!, literal: true })), whereOf(n));
      } else {
        f.add('py.subprocess-computed', 'subprocess', 'HIGH', `${name} runs a command computed at run time`, n);
      }
      return;
    }
    if (/^(eval|exec|compile|execfile|builtins\.(eval|exec)|__builtins__\.(eval|exec))$/.test(name)) {
      const arg = first;
      const text = pyString(arg);
      if (arg && (DECODERS.test(arg.text) || [...walk(arg)].some((c) => c.type === 'identifier' && this.decoded.has(c.text)))) {
        f.add('py.decode-exec', 'obfuscation', 'BLOCKED', `${name} runs code that was decoded at run time`, n);
      } else if (text !== undefined) {
        f.add('py.eval-literal', 'eval', 'MEDIUM', `${name} of a literal string`, n);
        f.within(whereOf(n), () => parseLoaded('python', text, (root) => new PythonRules(f, this.bash).program(root)));
      } else {
        f.add('py.eval', 'eval', 'HIGH', `${name} runs code computed at run time`, n);
      }
      return;
    }
    if (name === '__import__' || name === 'importlib.import_module' || name === 'importlib.__import__') {
      const mod = pyString(first);
      if (mod === undefined) f.add('py.dynamic-import', 'dynamic_import', 'HIGH', `${name} of a module named at run time`, n);
      else {
        f.add('py.dynamic-import', 'dynamic_import', 'MEDIUM', `${name}('${mod}')`, n);
        if (NETWORK_MODULES.test(mod)) f.add('py.network-import', 'network', 'HIGH', `imports ${mod}, a network module`, n);
        if (/^(os|subprocess|ctypes)$/.test(mod) && !/^[a-z_.]+$/.test(first!.text.slice(1, -1))) f.add('py.obfuscated-import', 'obfuscation', 'HIGH', 'builds a module name', n);
      }
      if (first && first.type === 'binary_operator') f.add('py.obfuscated-import', 'obfuscation', 'HIGH', 'builds the module name from pieces', n);
      return;
    }
    if (name === 'getattr' && positional[1] && positional[1].type !== 'string') {
      const attr = pyString(positional[1]);
      f.add('py.getattr', 'obfuscation', 'HIGH', attr === undefined ? 'getattr of a name computed at run time' : `getattr of a name built from pieces ('${attr}')`, n);
    }
    if (name === 'open' || name === 'io.open' || name === 'os.open' || name === 'codecs.open') {
      const path = pyString(first);
      const mode = pyString(positional[1] ?? keyword.get('mode')) ?? (name === 'os.open' ? positional[1]?.text : 'r');
      const writes = mode === undefined || /[wax+]|O_WRONLY|O_RDWR|O_CREAT/.test(mode);
      this.fileAccess(path, writes, n);
      return;
    }
    if (DELETE.test(name)) {
      const cls = classifyPath(pyString(first));
      let level: RiskLevel = DELETE_LEVEL[cls];
      if (cls === 'computed' && name !== 'shutil.rmtree') level = 'MEDIUM';
      if (cls === 'workspace' && name !== 'shutil.rmtree') level = 'LOW';
      f.add('py.delete', cls === 'root' || cls === 'system' ? 'destructive' : 'deletion', level, `${name} of ${pyString(first) ?? 'a computed path'} (${cls})`, n);
      return;
    }
    if (COPY_DEST.test(name)) {
      this.fileAccess(pyString(positional[1]), true, n);
      if (name === 'shutil.move') {
        const cls = classifyPath(pyString(first));
        if (cls !== 'workspace' && cls !== 'temp') f.add('py.move-away', 'deletion', DELETE_LEVEL[cls], `shutil.move removes ${pyString(first) ?? 'a computed path'}`, n);
      }
      return;
    }
    if (/^os\.(set(e|re|res)?[ug]id|setgroups|initgroups)$/.test(name)) f.add('py.setuid', 'privilege', 'HIGH', `${name} changes the process's user`, n);
    if (/^os\.(chmod|chown|lchown|fchmod)$/.test(name)) {
      const cls = classifyPath(pyString(first));
      const mode = positional[1]?.text ?? '';
      if (/S_ISUID|S_ISGID|0o[4267]\d{3}/.test(mode)) f.add('py.setuid-bit', 'privilege', 'HIGH', `${name} sets a set-uid or set-gid bit`, n);
      f.add('py.chmod', 'privilege', cls === 'system' || cls === 'root' || cls === 'secret' ? 'BLOCKED' : cls === 'outside' || cls === 'home' ? 'HIGH' : 'LOW',
        `${name} of ${pyString(first) ?? 'a computed path'} (${cls})`, n);
    }
    if (/^(os\.(getenv|environ\.get|getenvb)|os\.environ\.(copy|items|keys|values))$/.test(name)) {
      const key = pyString(first);
      this.environment(key, n);
    }
    if (/^(os\.fork|os\.forkpty|multiprocessing\.Process|os\.posix_spawn)$/.test(name)) {
      const loop = ancestor(n, ['while_statement', 'for_statement']);
      if (loop && (loop.type === 'while_statement' && /^(True|1)$/.test(loop.childForFieldName('condition')?.text ?? ''))) {
        f.add('py.fork-bomb', 'resource_bomb', 'BLOCKED', `${name} in an endless loop: a fork bomb`, n);
      } else {
        f.add('py.fork', 'subprocess', 'MEDIUM', `${name} starts another process`, n);
      }
    }
    if (/^os\.(setsid|daemon)$/.test(name)) f.add('py.detach', 'persistence', 'MEDIUM', `${name} detaches a process from the run`, n);
    if (/^os\.(kill|killpg)$/.test(name)) f.add('py.kill', 'subprocess', 'MEDIUM', `${name} signals other processes`, n);
    if (/^(pickle|cPickle|marshal|shelve|dill|jsonpickle)\.(loads?|Unpickler)$/.test(name)) f.add('py.deserialise', 'native', 'HIGH', `${name} can run code hidden in data`, n);
    if (/^(pip\.main|pip\._internal\.main|runpy\.run_module)$/.test(name) && /install/.test(n.text)) f.add('py.pip', 'package_install', 'HIGH', 'installs packages through pip', n);
    if (/^(bytearray|bytes)$/.test(name) && (pyInt(first) ?? 0) >= 2 ** 30) f.add('py.huge-alloc', 'resource_bomb', 'MEDIUM', `${name}(${first!.text}) allocates ${pyInt(first)} bytes`, n);
    if (/^urllib\.request\.(urlopen|urlretrieve)$|^requests\./.test(name)) f.add('py.network-call', 'network', 'HIGH', `${name} uses the network`, n);
  }

  private pathMethod(fn: SyntaxNode, n: SyntaxNode): void {
    const method = fn.childForFieldName('attribute')?.text ?? '';
    const obj = fn.childForFieldName('object');
    if (!obj || obj.type !== 'call') return;
    const ctor = this.resolve(obj.childForFieldName('function'));
    if (!ctor || !/(^|\.)(Path|PurePath|PosixPath)$/.test(ctor)) return;
    const path = pyString(this.args(obj).positional[0]);
    if (/^(write_text|write_bytes|touch|mkdir|symlink_to|hardlink_to)$/.test(method)) this.fileAccess(path, true, n);
    else if (/^(read_text|read_bytes|open)$/.test(method)) this.fileAccess(path, method === 'open' && /['"][wax+]/.test(n.text), n);
    else if (/^(unlink|rmdir)$/.test(method)) {
      const cls = classifyPath(path);
      this.f.add('py.delete', 'deletion', cls === 'workspace' ? 'LOW' : cls === 'computed' ? 'MEDIUM' : DELETE_LEVEL[cls], `Path.${method} of ${path ?? 'a computed path'} (${cls})`, n);
    }
  }

  private fileAccess(path: string | undefined, writes: boolean, n: SyntaxNode): void {
    const cls = classifyPath(path);
    const shown = path ?? 'a computed path';
    if (writes) {
      const level = WRITE_LEVEL[cls];
      if (level !== 'LOW') this.f.add('py.write', cls === 'device' ? 'destructive' : 'file_write', level, `writes ${shown} (${cls})`, n);
    } else {
      const level = READ_LEVEL[cls];
      if (level !== 'LOW') this.f.add('py.read', 'file_read', level, `reads ${shown} (${cls})`, n);
    }
  }

  private environment(key: string | undefined, n: SyntaxNode): void {
    if (key !== undefined && SECRET_NAME.test(key)) this.f.add('py.secret-env', 'environment', 'HIGH', `reads ${key}, a secret-named variable`, n);
    else this.f.add('py.environ', 'environment', 'MEDIUM', key ? `reads the environment variable ${key}` : 'reads the environment', n);
  }

  private name(n: SyntaxNode): void {
    if (n.type === 'identifier' && n.parent?.type === 'attribute') return;
    if (this.resolve(n) !== 'os.environ') return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.parent?.type === 'call') return; // os.environ.get(…): the call rule has it
    if (p?.type === 'subscript') this.environment(pyString(p.childForFieldName('subscript')), p);
    else this.environment(undefined, n);
  }

  private loop(n: SyntaxNode): void {
    const cond = n.childForFieldName('condition')?.text ?? '';
    const body = n.childForFieldName('body');
    if (!/^(True|1)$/.test(cond) || !body) return;
    if (!/\b(break|return|sys\.exit|exit|raise)\b/.test(body.text) && !/\bfork\b/.test(body.text)) {
      this.f.add('py.endless-loop', 'resource_bomb', 'MEDIUM', 'an endless loop with no break', n);
    }
  }

  /** A string naming a file that holds secrets, wherever it appears (an argument the other rules did not follow). */
  private secretPath(n: SyntaxNode): void {
    const v = pyString(n);
    if (v && classifyPath(v) === 'secret') this.f.add('py.secret-path', 'file_read', 'HIGH', `names ${v}, a file that holds secrets`, n);
  }

  private longString(n: SyntaxNode): void {
    const v = pyString(n);
    if (v && v.length >= 200 && /^[A-Za-z0-9+/=\s]+$/.test(v) && !/\s{2,}/.test(v.trim())) {
      this.f.add('py.encoded-blob', 'obfuscation', 'MEDIUM', `a ${v.length}-character base64-like string`, n);
    }
  }

  private allocation(n: SyntaxNode): void {
    if (n.childForFieldName('operator')?.text !== '*') return;
    const l = n.childForFieldName('left'), r = n.childForFieldName('right');
    const count = pyInt(r) ?? pyInt(l);
    const other = pyInt(r) !== undefined ? l : r;
    if (count !== undefined && count >= 2 ** 30 && other && /^(string|list|bytes|concatenated_string)$/.test(other.type)) {
      this.f.add('py.huge-alloc', 'resource_bomb', 'MEDIUM', `repeats a sequence ${count} times`, n);
    }
  }
}
