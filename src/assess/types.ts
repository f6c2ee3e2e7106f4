// The risk assessor's interface: a level for a program, and the findings (with reasons) that set it.

export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'BLOCKED';
export const RISK_LEVELS: readonly RiskLevel[] = ['LOW', 'MEDIUM', 'HIGH', 'BLOCKED'];

export const riskRank = (l: RiskLevel): number => RISK_LEVELS.indexOf(l);
export const maxRisk = (a: RiskLevel, b: RiskLevel): RiskLevel => (riskRank(a) >= riskRank(b) ? a : b);

export type AssessLanguage = 'python' | 'node' | 'bash';

/** What kind of thing a finding is about: the categories of the rules. */
export type FindingKind =
  | 'file_write' // a write outside the workspace (or to a computed path)
  | 'file_read' // reading secrets or system files
  | 'deletion'
  | 'network'
  | 'subprocess'
  | 'eval' // eval, exec, compile, new Function, vm, shell eval
  | 'dynamic_import'
  | 'obfuscation' // encoded strings, decoded-then-executed code
  | 'package_install'
  | 'privilege' // setuid, sudo, chmod +s, chown
  | 'environment' // reading the environment, secret-named variables
  | 'resource_bomb' // fork bombs, unbounded loops, huge allocations
  | 'native' // ctypes, process.dlopen, deserialisation that runs code
  | 'persistence' // background processes left running, crontab, shell profiles
  | 'destructive' // disks, filesystems, the whole tree, shutdown
  | 'exfiltration' // secrets or environment plus network in one program
  | 'parse_error';

export interface Finding {
  /** A stable rule id, such as `py.subprocess` or `sh.curl-pipe-shell`. */
  readonly rule: string;
  readonly kind: FindingKind;
  readonly level: RiskLevel;
  readonly reason: string;
  /** 1-based line and column of the code the finding is about. */
  readonly line: number;
  readonly column: number;
  /** The code itself, cut to 120 characters. */
  readonly snippet: string;
}

export interface Assessment {
  readonly language: AssessLanguage;
  readonly level: RiskLevel;
  /** Highest level first; the first ones set the level. */
  readonly findings: readonly Finding[];
}
