// hearth agent "TASK" --workspace DIR --model M: runs the assistant once, printing each step. Actions that need a
// person are asked on the terminal (when there is one) and over Discord (DISCORD_BOT_TOKEN, DISCORD_USER_ID);
// the first answer wins, and none before --approval-timeout denies the action.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { parsePolicy, type Policy, type Requirement } from '../../assess/policy.ts';
import type { RiskLevel } from '../../assess/types.ts';
import { parseDuration } from '../../store/duration.ts';
import { openStore } from '../../store/store.ts';
import { Library } from '../../library/library.ts';
import { canonicalName, describeFile } from '../../library/describe.ts';
import type { ModelSource } from '../../library/types.ts';
import { ModelManager } from '../../provider/model-manager.ts';
import { localModelLoader } from '../../provider/local-provider.ts';
import { openSandbox } from '../../sandbox/open.ts';
import { ApprovalBroker, DEFAULT_APPROVAL_TIMEOUT_MS, type ApprovalChannel } from '../../agent/approvals.ts';
import { runTask } from '../../agent/agent.ts';
import { parseScript } from '../../agent/tools.ts';
import { knowledgeSearch, policyFor, readPolicySettings } from '../../agent/service.ts';
import { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../server/routes/knowledge.ts';
import { discordApprovals, discordOptionsFromEnv } from '../../agent/discord.ts';
import type { AgentEvent } from '../../agent/types.ts';
import { loadGateway } from '../served-models.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth agent "TASK" --workspace DIR --model M [options]

Runs the assistant on a task in a git workspace (made a repository when it is not one). Each turn the model calls
one tool (read_file, write_file, list_files, run_code, search_knowledge, finish); each call is rated LOW, MEDIUM,
HIGH or BLOCKED, and the workspace's policy decides: LOW runs, MEDIUM runs when the reviewer model approves, HIGH
needs a person, BLOCKED never runs. Code runs only in the sandbox. Every change is committed with the task, the
reasoning, and Hearth-Risk, Hearth-Review and Hearth-Approved-By trailers.

  --workspace DIR       the git work tree the task changes (required)
  --model M             the model that does the task (a library name, a .gguf path, or a gateway route)
  --reviewer M          the model that reviews MEDIUM and HIGH actions (default: none; they then go to a person)
  --policy LEVEL=REQ,…  override the workspace's policy: REQ is run, reviewer, human or never (BLOCKED is always never)
  --policy-file FILE    workspace policies (default ~/.hearth/agent-policy.json): {"default": {…}, "workspaces": {"/dir": {…}}}
  --script FILE         a JSON list of steps [{tool, arguments}]: each turn's call is held to that tool and those
                        arguments by the tool-call grammar (for repeatable runs, and for models too small to choose)
  --max-steps N         turns at most (default 12)
  --approval-timeout D  how long a person has to answer (default 10m); no answer denies
  --kb NAME             the knowledge base store search_knowledge searches (hearth kb ls)
  --config FILE         the gateway's configuration (upstream providers), as for hearth serve
  --seed N              the sampling seed
  --json                print each event as one JSON line

A person answers on this terminal (y/n) when there is one, and on Discord when DISCORD_BOT_TOKEN and DISCORD_USER_ID
are set (the bot sends the user the action; their 👍 or 👎 answers).
`;

/** `LEVEL=REQ,…` over a policy. */
export function policyOverride(base: Policy, text: string | undefined): Policy {
  if (!text) return base;
  const o: Record<string, string> = { ...base };
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || !v) throw new HearthError('invalid_argument', `--policy takes LEVEL=REQUIREMENT pairs, such as MEDIUM=human; got "${part}"`);
    o[k.toUpperCase()] = v;
  }
  return parsePolicy(o as Record<RiskLevel, Requirement>);
}

function describe(e: AgentEvent): string {
  switch (e.type) {
    case 'task': return `task ${e.taskId} in ${e.workspace} with ${e.model}${e.reviewer ? `, reviewed by ${e.reviewer}` : ''}`;
    case 'plan': return `plan: ${e.text}`;
    case 'tool_call': return `call ${e.step + 1}: ${e.tool} ${JSON.stringify(e.arguments).slice(0, 300)}`;
    case 'assessment': return `  risk ${e.level}${e.findings.map((f) => `\n    ${f.level} ${f.rule} (line ${f.line}): ${f.reason}`).join('')}`;
    case 'review': return `  review by ${e.model}: ${e.verdict} (${e.reasons.join('; ')})`;
    case 'approval_wait': return `  waiting for a person: approval ${e.approvalId} (until ${e.expiresAt})`;
    case 'decision': return `  ${e.action === 'run' ? 'runs' : 'denied'}: ${e.reason} (${e.by})`;
    case 'tool_result': return `  ${e.status}${e.commit ? ` · commit ${e.commit.slice(0, 12)}` : ''}\n${e.output.split('\n').map((l) => `    ${l}`).join('\n')}`;
    case 'result': return `${e.status}: ${e.summary || e.error || ''}${e.commits.length ? `\ncommits: ${e.commits.map((c) => c.slice(0, 12)).join(' ')}` : ''}`;
  }
}

/** The terminal as an approval channel: asks y/n and answers as the local user. */
function terminalChannel(): ApprovalChannel {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ac = new AbortController();
  return {
    name: 'terminal',
    async ask(a, answer) {
      const r = a.request;
      process.stderr.write(`\n${r.risk.level}: ${r.action.summary}\n${r.action.diff ?? r.action.code ?? ''}\n`);
      try {
        const reply = await rl.question(`approve ${a.id}? [y/N] `, { signal: ac.signal });
        answer(/^y(es)?$/i.test(reply.trim()), `${process.env.USER ?? 'local'}@terminal`);
      } catch { /* answered elsewhere or closed */ }
    },
    settled() {
      ac.abort();
    },
    close() {
      ac.abort();
      rl.close();
    },
  };
}

export const command: Command = {
  summary: 'run the assistant on a task in a git workspace',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      workspace: { type: 'string' }, model: { type: 'string' }, reviewer: { type: 'string' }, policy: { type: 'string' },
      'policy-file': { type: 'string' }, script: { type: 'string' }, 'max-steps': { type: 'string' }, 'approval-timeout': { type: 'string' },
      config: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, kb: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const task = positionals.join(' ').trim();
    if (!task) throw new HearthError('invalid_argument', 'give the task: hearth agent "TASK" --workspace DIR --model M');
    if (!v.workspace) throw new HearthError('invalid_argument', '--workspace DIR is required');
    const model = v.model ?? process.env.HEARTH_MODEL;
    if (!model) throw new HearthError('invalid_argument', '--model M is required (or HEARTH_MODEL)');
    const int = (s: string | undefined, flag: string) => {
      if (s === undefined) return undefined;
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new HearthError('invalid_argument', `${flag} must be a whole number; got "${s}"`);
      return n;
    };
    const script = v.script === undefined ? undefined : parseScript(JSON.parse(readFileSync(v.script, 'utf8')), v.script);
    const timeoutMs = v['approval-timeout'] === undefined ? DEFAULT_APPROVAL_TIMEOUT_MS : parseDuration(v['approval-timeout'], '--approval-timeout');
    const policyFile = v['policy-file'] ?? join(process.env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'agent-policy.json');
    const policy = policyOverride(policyFor(readPolicySettings(policyFile), v.workspace), v.policy);

    const gateway = loadGateway(v.config);
    const library = Library.open();
    // a model named by its .gguf path is served under that path
    const files = new Map([model, v.reviewer].filter((m): m is string => !!m && m.endsWith('.gguf') && existsSync(m))
      .map((m) => [canonicalName(m), describeFile(m, { name: m })] as const));
    const withFiles: ModelSource = {
      list: () => [...files.values(), ...library.list()],
      get: (n) => files.get(canonicalName(n)) ?? library.get(n),
    };
    const local = localModelLoader({ scheduler: { parallel: 2, queueLimit: 8 } });
    const models = new ModelManager({
      source: gateway ? gateway.source(withFiles) : withFiles,
      load: (m) => (m.upstream && gateway ? Promise.resolve(gateway.provider(m)) : local(m)),
      keepAliveMs: -1,
    });
    const store = openStore();
    const approvals = new ApprovalBroker(store.agent, { timeoutMs, log: (m) => process.stderr.write(`hearth agent: ${m}\n`) });
    const channels: ApprovalChannel[] = [];
    const kb = v.kb === undefined ? undefined : new KnowledgeBase(store.database, { embedders: modelEmbedders(models) });
    try {
      const knowledge = kb && knowledgeSearch(kb, v.kb!);
      if (process.stdin.isTTY) channels.push(terminalChannel());
      const discord = discordOptionsFromEnv();
      if (discord) channels.push(await discordApprovals(discord));
      for (const c of channels) approvals.addChannel(c);
      const print = (e: AgentEvent) => process.stdout.write((v.json ? JSON.stringify(e) : describe(e)) + '\n');
      const out = await runTask({ models, sandbox: () => openSandbox(), store: store.agent, approvals }, {
        task, workspace: v.workspace, model, policy, approvalTimeoutMs: timeoutMs, ...(knowledge ? { knowledge } : {}),
        ...(v.reviewer ? { reviewer: v.reviewer } : {}), ...(script ? { script } : {}),
        ...(v['max-steps'] ? { maxSteps: int(v['max-steps'], '--max-steps') } : {}), ...(v.seed ? { seed: int(v.seed, '--seed') } : {}),
      }, print);
      return out.status === 'done' ? 0 : 1;
    } finally {
      await approvals.close();
      await kb?.close();
      await models.close();
      gateway?.close();
      library.close();
      store.close();
    }
  },
};
