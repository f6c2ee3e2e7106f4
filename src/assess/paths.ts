// Where a path a program names lies, as the rules see it: inside the workspace (the sandbox's /workspace, or a
// relative path that does not climb out), the private /tmp, elsewhere, a system folder, a secret, or the whole tree.

import type { RiskLevel } from './types.ts';

export type PathClass = 'workspace' | 'temp' | 'outside' | 'home' | 'system' | 'secret' | 'root' | 'device' | 'computed';

const SECRET = [
  /^\/etc\/(shadow|gshadow|sudoers)/, /(^|\/)\.ssh(\/|$)/, /(^|\/)id_(rsa|dsa|ecdsa|ed25519)/, /(^|\/)\.aws\/credentials/,
  /(^|\/)\.netrc$/, /(^|\/)\.git-credentials$/, /(^|\/)\.docker\/config\.json$/, /(^|\/)\.kube\/config$/, /(^|\/)\.pgpass$/,
  /(^|\/)\.gnupg(\/|$)/, /^\/proc\/[^/]+\/(environ|mem|maps)$/, /(^|\/)\.env$/, /(^|\/)\.npmrc$/, /(^|\/)\.pypirc$/,
  /(^|\/)\.config\/gcloud(\/|$)/, /(^|\/)\.bash_history$/, /(^|\/)credentials\.json$/, /(^|\/)\.password-store(\/|$)/,
];
const ROOTS = new Set(['/', '/*', '/.', '~', '~/', '~/*', '$HOME', '${HOME}', '$HOME/', '$HOME/*', '/home', '/home/*', '/root', '/root/*', '..', '../', '../*']);
const SYSTEM = /^\/(etc|usr|bin|sbin|lib|lib32|lib64|boot|sys|proc|var|opt|run|snap)(\/|$)/;

/** Classifies a path literal; `undefined` (a path computed at run time) is `computed`. */
export function classifyPath(path: string | undefined): PathClass {
  if (path === undefined) return 'computed';
  const p = path.trim();
  if (!p) return 'computed';
  if (ROOTS.has(p) || /^\/+$/.test(p)) return 'root';
  if (SECRET.some((re) => re.test(p))) return 'secret';
  if (/^\/dev\/(sd|nvme|hd|vd|xvd|mmcblk|loop|mem|kmem|port|disk)/.test(p)) return 'device';
  if (/^\/dev\/(null|zero|u?random|stdout|stderr|stdin|tty|fd\/)/.test(p)) return 'temp';
  if (/^\/workspace(\/|$)/.test(p) && !p.includes('/..')) return 'workspace';
  if (/^\/(tmp|dev\/shm)(\/|$)/.test(p)) return 'temp';
  if (SYSTEM.test(p)) return 'system';
  if (/^(~|\$HOME|\$\{HOME\})/.test(p) || /^\/home\//.test(p) || /^\/root\//.test(p)) return 'home';
  if (p.startsWith('/')) return 'outside';
  if (/^\$|`/.test(p)) return 'computed';
  // relative: inside unless it climbs above its start
  let depth = 0;
  for (const part of p.split('/')) {
    if (part === '..') depth--;
    else if (part && part !== '.') depth++;
    if (depth < 0) return 'outside';
  }
  return 'workspace';
}

export const WRITE_LEVEL: Record<PathClass, RiskLevel> = {
  workspace: 'LOW', temp: 'LOW', computed: 'MEDIUM', outside: 'HIGH', home: 'HIGH', system: 'BLOCKED', secret: 'BLOCKED',
  root: 'BLOCKED', device: 'BLOCKED',
};
export const DELETE_LEVEL: Record<PathClass, RiskLevel> = {
  workspace: 'MEDIUM', temp: 'LOW', computed: 'HIGH', outside: 'HIGH', home: 'HIGH', system: 'BLOCKED', secret: 'BLOCKED',
  root: 'BLOCKED', device: 'BLOCKED',
};
export const READ_LEVEL: Record<PathClass, RiskLevel> = {
  workspace: 'LOW', temp: 'LOW', computed: 'LOW', outside: 'MEDIUM', home: 'MEDIUM', system: 'MEDIUM', secret: 'HIGH',
  root: 'MEDIUM', device: 'HIGH',
};

/** Environment variable names that usually hold secrets. */
export const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSW(OR)?D|PASSWD|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|API_?KEY|DSN)/i;
