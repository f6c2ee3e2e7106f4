// assess(language, code): the program's risk level and the findings that set it. The rules per language live in
// their own files; what combines findings across a program (secrets or the environment plus the network is
// exfiltration) lives here.

import { loadGrammars, parseLoaded } from './parser.ts';
import { Findings } from './findings.ts';
import { BashRules } from './bash-rules.ts';
import { PythonRules } from './python-rules.ts';
import { JavaScriptRules } from './javascript-rules.ts';
import { maxRisk, riskRank, type AssessLanguage, type Assessment, type RiskLevel } from './types.ts';

export async function assess(language: AssessLanguage, code: string): Promise<Assessment> {
  await loadGrammars();
  const f = new Findings();
  parseLoaded(language, code, (root) => {
    if (language === 'python') new PythonRules(f).program(root);
    else if (language === 'node') new JavaScriptRules(f).program(root);
    else new BashRules(f).program(root);
  });
  const network = f.list.find((x) => x.kind === 'network');
  const secret = f.list.find((x) => (x.kind === 'file_read' || x.kind === 'environment') && riskRank(x.level) >= riskRank('HIGH'));
  const environ = f.list.find((x) => x.kind === 'environment');
  if (network && secret) {
    f.add(`${language === 'node' ? 'js' : language === 'python' ? 'py' : 'sh'}.exfiltration`, 'exfiltration', 'BLOCKED',
      `reads secrets (line ${secret.line}) and uses the network (line ${network.line}): a way to send them out`, { line: secret.line, column: secret.column, text: secret.snippet });
  } else if (network && environ) {
    f.add(`${language === 'node' ? 'js' : language === 'python' ? 'py' : 'sh'}.env-network`, 'exfiltration', 'HIGH',
      `reads the environment (line ${environ.line}) and uses the network (line ${network.line})`, { line: environ.line, column: environ.column, text: environ.snippet });
  }
  const findings = [...f.list].sort((a, b) => riskRank(b.level) - riskRank(a.level) || a.line - b.line || a.column - b.column);
  const level = findings.reduce<RiskLevel>((l, x) => maxRisk(l, x.level), 'LOW');
  return { language, level, findings };
}
