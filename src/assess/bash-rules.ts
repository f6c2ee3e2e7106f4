// Rules for shell programs (tree-sitter-bash), and for shell commands that Python and JavaScript programs pass to a
// shell: each command is turned into its argv (literal words, or marked as computed at run time) and judged by
// what it is and what it touches; pipelines, redirections, functions and loops have rules of their own.

import { parseLoaded, walk, type SyntaxNode } from './parser.ts';
import { classifyPath, DELETE_LEVEL, READ_LEVEL, SECRET_NAME, WRITE_LEVEL } from './paths.ts';
import type { Findings, Where } from './findings.ts';
import type { RiskLevel } from './types.ts';

interface Arg { readonly text: string; readonly literal: boolean }

/** The value of one shell word: quotes removed; `literal` false when it holds an expansion ($HOME aside). */
function wordValue(n: SyntaxNode): Arg {
  switch (n.type) {
    case 'word': case 'number': return { text: n.text.replace(/\\(.)/g, '$1'), literal: true };
    case 'raw_string': return { text: n.text.slice(1, -1), literal: true };
    case 'ansi_c_string': return { text: ansiC(n.text.slice(2, -1)), literal: true };
    case 'simple_expansion': case 'expansion':
      return { text: n.text, literal: /^\$\{?HOME\}?$/.test(n.text) };
    case 'string': case 'concatenation': {
      let text = '';
      let literal = true;
      const kids = n.type === 'string' ? n.namedChildren : n.namedChildren;
      if (n.type === 'string' && kids.length === 0) return { text: n.text.slice(1, -1), literal: true };
      if (n.type === 'string') {
        // string_content pieces and expansions, in order; the quotes are anonymous children
        for (const c of n.children) {
          if (!c || !c.isNamed) continue;
          const v = c.type === 'string_content' ? { text: c.text, literal: true } : wordValue(c);
          text += v.text;
          literal &&= v.literal;
        }
        return { text, literal };
      }
      for (const c of kids) {
        if (!c) continue;
        const v = wordValue(c);
        text += v.text;
        literal &&= v.literal;
      }
      return { text, literal };
    }
    default: return { text: n.text, literal: false };
  }
}

/** The value of a $'…' string: \xHH, \NNN (octal), \uHHHH and the C escapes. */
function ansiC(body: string): string {
  const C: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"' };
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|[0-7]{1,3}|.)/g, (_, e: string) =>
    e[0] === 'x' || e[0] === 'u' ? String.fromCharCode(parseInt(e.slice(1), 16)) : /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : C[e] ?? e);
}

const base = (cmd: string) => cmd.replace(/^.*\//, '');

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'fish', 'busybox']);
const INTERPRETERS = new Set([...SHELLS, 'python', 'python3', 'python2', 'perl', 'ruby', 'node', 'php', 'lua', 'deno', 'bun']);
const NETWORK = new Set(['curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'ssh', 'scp', 'sftp', 'rsync', 'telnet', 'ftp', 'nmap',
  'ping', 'dig', 'nslookup', 'host', 'aria2c', 'httpie', 'http', 'lynx', 'git']);
const DECODERS = new Set(['base64', 'base32', 'xxd', 'openssl', 'rev', 'gunzip', 'zcat', 'uudecode', 'tr']);
const WRAPPERS = new Set(['env', 'nohup', 'timeout', 'nice', 'ionice', 'xargs', 'exec', 'command', 'time', 'stdbuf', 'setsid', 'builtin']);
const PRIVILEGE = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser']);
const SYSTEM_ADMIN = new Set(['mount', 'umount', 'modprobe', 'insmod', 'rmmod', 'sysctl', 'iptables', 'ip6tables', 'nft', 'ifconfig',
  'ip', 'route', 'setcap', 'useradd', 'usermod', 'userdel', 'groupadd', 'passwd', 'chpasswd', 'visudo', 'systemctl', 'service',
  'chroot', 'nsenter', 'unshare', 'capsh', 'insmod']);
const DESTRUCTIVE = new Set(['mkfs', 'wipefs', 'fdisk', 'sfdisk', 'parted', 'gdisk', 'shutdown', 'reboot', 'halt', 'poweroff',
  'killall5', 'telinit', 'mkswap', 'swapoff', 'blkdiscard']);
const INSTALLERS: Record<string, RegExp> = {
  pip: /^(install|download)$/, pip3: /^(install|download)$/, npm: /^(install|i|add|ci|exec|x)$/, npx: /./, yarn: /^(add|install|dlx)$/,
  pnpm: /^(add|install|i|dlx)$/, apt: /^install$/, 'apt-get': /^install$/, dnf: /^install$/, yum: /^install$/, apk: /^add$/,
  pacman: /^-S/, gem: /^install$/, cargo: /^install$/, go: /^(install|get)$/, brew: /^install$/, conda: /^install$/,
  pipx: /^(install|run)$/, uv: /^(pip|add|tool)$/, poetry: /^add$/, bunx: /./,
};
const PROFILE = /(^|\/)\.(bashrc|bash_profile|profile|zshrc|zprofile|bash_login|bash_logout)$|^\/etc\/(profile|bash\.bashrc)/;

export class BashRules {
  private readonly f: Findings;
  /** Variables assigned the output of a decoder (base64 -d, xxd -r …): running them is running hidden code. */
  private readonly decoded = new Set<string>();
  constructor(f: Findings) {
    this.f = f;
  }

  /** All rules over a parsed shell program. */
  program(root: SyntaxNode): void {
    if (root.hasError) this.f.add('sh.parse', 'parse_error', 'MEDIUM', 'the shell code does not parse cleanly: the rules may miss what it does', root);
    for (const n of walk(root)) {
      if (n.type !== 'variable_assignment') continue;
      const value = n.childForFieldName('value')?.text ?? '';
      if (/\b(base64|base32)\s+(-[a-zA-Z]*d|--decode)|\bxxd\s+-r|\bopenssl\b.*\s-d\b|\bprintf\s+['"]?(\\x|%b)/.test(value)) {
        this.decoded.add(n.childForFieldName('name')?.text ?? '');
      }
    }
    for (const n of walk(root)) {
      if (n.type === 'command') this.command(n);
      else if (n.type === 'file_redirect') this.redirect(n);
      else if (n.type === 'pipeline') this.pipeline(n);
      else if (n.type === 'function_definition') this.functionDef(n);
      else if (n.type === 'while_statement' || n.type === 'until_statement') this.loop(n);
      else if (n.type === 'simple_expansion' || n.type === 'expansion') this.expansion(n);
    }
    if (/(^|[^&|>])&\s*($|\n|;|done|\))/.test(root.text)) {
      this.f.add('sh.background', 'persistence', 'MEDIUM', 'starts a process in the background', root);
    }
  }

  /** A shell command given as text (by a Python or JavaScript program), its findings placed at `where`. */
  text(code: string, where: Where): void {
    this.f.within(where, () => parseLoaded('bash', code, (root) => this.program(root)));
  }

  private argv(n: SyntaxNode): Arg[] {
    const out: Arg[] = [];
    const name = n.childForFieldName('name');
    if (name) out.push(wordValue(name.namedChildren[0] ?? name));
    for (const c of n.namedChildren) {
      if (!c || c === name || c.type === 'command_name' || c.type === 'variable_assignment' || c.type === 'file_redirect') continue;
      out.push(wordValue(c));
    }
    return out;
  }

  private command(n: SyntaxNode): void {
    this.argvRules(this.argv(n), n);
  }

  /** The rules for one command line, given as its words. */
  argvRules(argv: readonly Arg[], n: SyntaxNode | Where): void {
    const f = this.f;
    if (!argv.length) return;
    const cmd = base(argv[0]!.text);
    const args = argv.slice(1);
    const plain = args.filter((a) => !a.text.startsWith('-'));
    const flags = args.filter((a) => a.text.startsWith('-')).map((a) => a.text);
    if (!argv[0]!.literal) f.add('sh.computed-command', 'eval', 'HIGH', 'runs a command whose name is computed at run time', n);
    if ('startPosition' in n && /^\$'|\\x[0-9a-f]/i.test(n.childForFieldName('name')?.text ?? '')) {
      f.add('sh.escaped-command', 'obfuscation', 'HIGH', `the command name is written in escapes (${cmd})`, n);
    }
    if (PRIVILEGE.has(cmd)) {
      f.add('sh.privilege', 'privilege', 'HIGH', `${cmd} runs a command as another user`, n);
      return this.argvRules(args.filter((a, i) => !(i === 0 && a.text.startsWith('-'))), n);
    }
    if (WRAPPERS.has(cmd)) {
      if (cmd === 'nohup' || cmd === 'setsid') f.add('sh.detach', 'persistence', 'MEDIUM', `${cmd} detaches a process from the run`, n);
      if (cmd === 'env' && plain.length === 0) f.add('sh.env-dump', 'environment', 'MEDIUM', 'prints the whole environment', n);
      const rest = cmd === 'timeout' ? args.slice(1) : args;
      const i = rest.findIndex((a) => !a.text.startsWith('-') && !(cmd === 'env' && a.text.includes('=')));
      if (i >= 0) this.argvRules(rest.slice(i), n);
      return;
    }
    for (const a of args) {
      // a file named inside an option: curl -d @FILE, --data=@FILE, dd if=FILE
      const cls = classifyPath(a.literal ? a.text.replace(/^(-[-\w]*=|\w+=)?@?/, '') : undefined);
      if (cls === 'secret') f.add('sh.read-secret', 'file_read', 'HIGH', `touches ${a.text}, which holds secrets`, n);
      else if (cls === 'device' && !['dd'].includes(cmd)) f.add('sh.device', 'destructive', READ_LEVEL.device, `touches the raw device ${a.text}`, n);
    }
    if (cmd === 'rm' || cmd === 'rmdir' || cmd === 'unlink' || cmd === 'shred') {
      const recursive = flags.some((x) => /^-[a-zA-Z]*[rR]/.test(x) || x === '--recursive');
      if (flags.includes('--no-preserve-root')) f.add('sh.rm-root', 'destructive', 'BLOCKED', 'rm --no-preserve-root', n);
      for (const a of plain) {
        const cls = classifyPath(a.literal ? a.text : undefined);
        let level: RiskLevel = DELETE_LEVEL[cls];
        if (cls === 'computed' && !recursive) level = 'MEDIUM';
        if (cls === 'workspace' && !recursive) level = 'LOW';
        if (cmd === 'shred' && cls !== 'workspace' && cls !== 'temp') level = 'BLOCKED';
        f.add('sh.delete', level === 'BLOCKED' && (cls === 'root' || cls === 'system') ? 'destructive' : 'deletion', level,
          `${cmd}${recursive ? ' -r' : ''} of ${cls === 'computed' ? 'a computed path' : `${a.text} (${cls})`}`, n);
      }
      return;
    }
    if (DESTRUCTIVE.has(cmd) || /^mkfs\./.test(cmd) || (cmd === 'init' && plain[0]?.text === '0')) {
      f.add('sh.destructive', 'destructive', 'BLOCKED', `${cmd} formats disks or stops the machine`, n);
    }
    if (cmd === 'kill' && args.some((a) => a.text === '-1' || a.text === '--' ) && args.some((a) => a.text === '-1')) {
      f.add('sh.kill-all', 'destructive', 'BLOCKED', 'kill -1 signals every process it may', n);
    } else if (cmd === 'kill' || cmd === 'pkill' || cmd === 'killall') {
      f.add('sh.kill', 'subprocess', 'MEDIUM', `${cmd} signals other processes`, n);
    }
    if (cmd === 'dd') {
      for (const a of args) {
        const m = /^of=(.*)$/.exec(a.text);
        if (m) {
          const cls = classifyPath(a.literal ? m[1] : undefined);
          f.add('sh.dd', cls === 'device' ? 'destructive' : 'file_write', WRITE_LEVEL[cls], `dd writes ${m[1]} (${cls})`, n);
        }
        if (/^if=\/dev\/(zero|u?random)$/.test(a.text) && !args.some((x) => /^count=/.test(x.text))) {
          f.add('sh.dd-unbounded', 'resource_bomb', 'MEDIUM', 'dd from an endless device with no count', n);
        }
      }
    }
    if (NETWORK.has(cmd) && !(cmd === 'git' && !/^(clone|fetch|pull|push|ls-remote|submodule)$/.test(plain[0]?.text ?? ''))) {
      f.add('sh.network', 'network', 'HIGH', `${cmd} uses the network`, n);
    }
    const installer = INSTALLERS[cmd];
    const sub = plain[0]?.text ?? '';
    if (installer && installer.test(cmd === 'pacman' ? (flags[0] ?? '') : sub)) {
      f.add('sh.install', 'package_install', 'HIGH', `${cmd} ${cmd === 'pacman' ? flags[0] : sub} installs packages (their install scripts run)`, n);
    }
    if (INTERPRETERS.has(cmd) || /^python3(\.\d+)?$/.test(cmd)) this.interpreter(cmd, args, n);
    const runsDecoded = args.some((a) => [...a.text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].some((m) => this.decoded.has(m[1]!)));
    if (runsDecoded && (cmd === 'eval' || SHELLS.has(cmd) || INTERPRETERS.has(cmd) || cmd === 'source' || cmd === '.')) {
      f.add('sh.decode-exec', 'obfuscation', 'BLOCKED', `${cmd} runs a variable that holds decoded data`, n);
    }
    if (cmd === 'eval' || cmd === 'source' || cmd === '.') {
      const literal = args.every((a) => a.literal);
      if (literal && cmd === 'eval') {
        f.add('sh.eval', 'eval', 'MEDIUM', 'eval of a literal string', n);
        this.nested(args.map((a) => a.text).join(' '), n);
      } else {
        f.add('sh.eval', 'eval', cmd === 'eval' ? 'HIGH' : 'MEDIUM', `${cmd} runs ${literal ? args.map((a) => a.text).join(' ') : 'code computed at run time'}`, n);
      }
    }
    if (cmd === 'chmod') {
      const mode = plain[0]?.text ?? '';
      const targets = plain.slice(1).map((a) => classifyPath(a.literal ? a.text : undefined));
      if (/[ug]?\+[rwx]*s|^[2467][0-7]{3}$/.test(mode)) f.add('sh.setuid', 'privilege', 'HIGH', `chmod ${mode} sets a set-uid or set-gid bit`, n);
      if (targets.some((c) => c === 'root' || c === 'system' || c === 'secret')) f.add('sh.chmod-system', 'privilege', 'BLOCKED', `chmod ${mode} on a system path`, n);
      else if (targets.some((c) => c === 'outside' || c === 'home')) f.add('sh.chmod-outside', 'privilege', 'HIGH', 'chmod outside the workspace', n);
    }
    if (cmd === 'chown' || cmd === 'chgrp') {
      const targets = plain.slice(1).map((a) => classifyPath(a.literal ? a.text : undefined));
      f.add('sh.chown', 'privilege', targets.some((c) => c === 'root' || c === 'system') ? 'BLOCKED' : 'MEDIUM', `${cmd} changes ownership`, n);
    }
    if (SYSTEM_ADMIN.has(cmd)) f.add('sh.admin', 'privilege', 'HIGH', `${cmd} changes the system's configuration`, n);
    if (cmd === 'crontab' || cmd === 'at' || cmd === 'batch') f.add('sh.schedule', 'persistence', 'HIGH', `${cmd} schedules code to run later`, n);
    if (cmd === 'disown') f.add('sh.detach', 'persistence', 'MEDIUM', 'disown leaves a process running', n);
    if (cmd === 'printenv' || (cmd === 'export' && flags.includes('-p')) || (cmd === 'declare' && flags.includes('-x')) || (cmd === 'set' && args.length === 0)) {
      f.add('sh.env-dump', 'environment', 'MEDIUM', `${cmd} prints the environment`, n);
    }
    if (cmd === 'history' && flags.includes('-c')) f.add('sh.history', 'persistence', 'MEDIUM', 'clears the shell history', n);
    if (cmd === 'fallocate' || cmd === 'truncate') f.add('sh.allocate', 'resource_bomb', 'MEDIUM', `${cmd} makes large files`, n);
    if (cmd === 'yes') f.add('sh.yes', 'resource_bomb', 'MEDIUM', 'yes writes without end', n);
    // where the command writes
    const dests = cmd === 'tee' || cmd === 'touch' || cmd === 'mkdir' ? plain
      : cmd === 'cp' || cmd === 'mv' || cmd === 'ln' || cmd === 'install' || cmd === 'rsync' ? plain.slice(-1)
      : [];
    for (const a of dests) this.write(a, `${cmd} writes`, n);
    if (cmd === 'mv') {
      for (const a of plain.slice(0, -1)) {
        const cls = classifyPath(a.literal ? a.text : undefined);
        if (cls !== 'workspace' && cls !== 'temp') f.add('sh.mv-away', 'deletion', DELETE_LEVEL[cls], `mv removes ${a.text} (${cls})`, n);
      }
    }
    if (cmd === 'find' && args.some((a) => a.text === '-delete' || a.text === '-exec')) {
      const start = classifyPath(plain[0]?.literal ? plain[0].text : undefined);
      if (args.some((a) => a.text === '-delete')) f.add('sh.find-delete', 'deletion', DELETE_LEVEL[start === 'workspace' ? 'workspace' : start], `find -delete under ${plain[0]?.text ?? '.'}`, n);
      if (args.some((a) => a.text === '-exec')) f.add('sh.find-exec', 'subprocess', 'MEDIUM', 'find -exec runs a command per file', n);
    }
  }

  private write(a: Arg, what: string, n: SyntaxNode | Where): void {
    const cls = classifyPath(a.literal ? a.text : undefined);
    if (PROFILE.test(a.text)) {
      this.f.add('sh.profile', 'persistence', 'HIGH', `${what} a shell start-up file (${a.text})`, n);
      return;
    }
    const level = WRITE_LEVEL[cls];
    if (level !== 'LOW') this.f.add('sh.write', cls === 'device' ? 'destructive' : 'file_write', level, `${what} ${a.literal ? a.text : 'a computed path'} (${cls})`, n);
  }

  private interpreter(cmd: string, args: readonly Arg[], n: SyntaxNode | Where): void {
    const i = args.findIndex((a) => a.text === '-c' || a.text === '-e' || a.text === '--eval');
    if (/^python/.test(cmd) && args[0]?.text === '-m' && /^pip$/.test(args[1]?.text ?? '') && /^(install|download)$/.test(args[2]?.text ?? '')) {
      this.f.add('sh.install', 'package_install', 'HIGH', `${cmd} -m pip install installs packages`, n);
    }
    if (i < 0) return;
    const code = args[i + 1];
    if (!code) return;
    if (!code.literal) {
      this.f.add('sh.interpreter-computed', 'eval', 'HIGH', `${cmd} ${args[i]!.text} runs code computed at run time`, n);
    } else if (SHELLS.has(cmd)) {
      this.f.add('sh.subshell', 'subprocess', 'LOW', `${cmd} -c of a literal command`, n);
      this.nested(code.text, n);
    } else {
      this.f.add('sh.inline-code', 'eval', 'MEDIUM', `${cmd} ${args[i]!.text} runs inline code`, n);
    }
  }

  private nested(code: string, n: SyntaxNode | Where): void {
    const where = 'startPosition' in n ? { line: n.startPosition.row + 1, column: n.startPosition.column + 1, text: n.text } : n;
    this.text(code, where);
  }

  private redirect(n: SyntaxNode): void {
    const dest = n.childForFieldName('destination') ?? n.namedChildren.at(-1);
    if (!dest) return;
    const op = n.text.trimStart();
    const v = wordValue(dest);
    if (/^\d*(>|>>|&>|>\||&>>)/.test(op)) this.write(v, 'a redirection writes', n);
    else if (/^\d*</.test(op)) {
      const cls = classifyPath(v.literal ? v.text : undefined);
      if (cls === 'secret') this.f.add('sh.read-secret', 'file_read', 'HIGH', `reads ${v.text}, which holds secrets`, n);
    }
  }

  private pipeline(n: SyntaxNode): void {
    const cmds = n.namedChildren.filter((c): c is SyntaxNode => c?.type === 'command' || c?.type === 'redirected_statement');
    const names = cmds.map((c) => {
      const cmd = c.type === 'command' ? c : c.childForFieldName('body');
      const a = cmd?.type === 'command' ? this.argv(cmd) : [];
      return { name: base(a[0]?.text ?? ''), args: a.slice(1).map((x) => x.text) };
    });
    const runsCode = (i: number) => names.slice(i + 1).some((c) => INTERPRETERS.has(c.name) || /^python3/.test(c.name) ||
      (c.name === 'xargs' && c.args.some((a) => INTERPRETERS.has(base(a)))));
    names.forEach((c, i) => {
      if ((c.name === 'curl' || c.name === 'wget') && runsCode(i)) {
        this.f.add('sh.download-exec', 'network', 'BLOCKED', `${c.name} downloads code and pipes it to an interpreter`, n);
      }
      const decodes = (c.name === 'base64' || c.name === 'base32') ? c.args.some((a) => /^-(d|D|-decode)/.test(a))
        : c.name === 'xxd' ? c.args.includes('-r') : c.name === 'openssl' ? c.args.includes('-d') : DECODERS.has(c.name);
      if (decodes && runsCode(i)) this.f.add('sh.decode-exec', 'obfuscation', 'BLOCKED', `${c.name} decodes data that is then run`, n);
      if (c.name === 'cat' && c.args.some((a) => /^\/dev\/(zero|u?random)$/.test(a))) this.f.add('sh.endless', 'resource_bomb', 'MEDIUM', 'reads an endless device', n);
    });
  }

  private functionDef(n: SyntaxNode): void {
    const name = n.childForFieldName('name')?.text;
    const body = n.childForFieldName('body');
    if (!name || !body) return;
    const calls = [...walk(body)].filter((c) => c.type === 'command' && base(this.argv(c)[0]?.text ?? '') === name);
    if (calls.length && (/&/.test(body.text) || [...walk(body)].some((c) => c.type === 'pipeline'))) {
      this.f.add('sh.fork-bomb', 'resource_bomb', 'BLOCKED', `function ${name} starts copies of itself: a fork bomb`, n);
    }
  }

  private loop(n: SyntaxNode): void {
    const cond = n.childForFieldName('condition');
    const body = n.childForFieldName('body');
    const forever = !cond || /^\s*(true|:|\[\s*1\s*\]|\(\(\s*1\s*\)\))\s*;?\s*$/.test(cond.text);
    if (!forever || !body) return;
    if (/&\s*($|\n|;|done)/m.test(body.text) || /\bfork\b/.test(body.text)) {
      this.f.add('sh.spawn-loop', 'resource_bomb', 'BLOCKED', 'starts background processes in an endless loop', n);
    } else if (!/\b(break|exit|return)\b/.test(body.text)) {
      this.f.add('sh.endless-loop', 'resource_bomb', 'MEDIUM', 'an endless loop with no break', n);
    }
  }

  private expansion(n: SyntaxNode): void {
    const name = /^\$\{?#?!?([A-Za-z_][A-Za-z0-9_]*)/.exec(n.text)?.[1];
    if (name && SECRET_NAME.test(name)) this.f.add('sh.secret-var', 'environment', 'HIGH', `reads $${name}, a secret-named variable`, n);
  }
}
