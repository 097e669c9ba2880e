/**
 * Shell completion's parts that take outside input: `modeldeck completion SHELL` (any argument: a script or a clear
 * refusal, never a throw), `modeldeck __complete contexts|models -- WORDS` (any words: names or nothing), the lenient
 * reading of a half-typed line, and the scripts made from the tables. The scripts themselves run in real shells in
 * test/e2e/completion.test.ts.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {flagTable, subcommandTable} from '../../../source/cli-flags/table.ts';
import {runComplete, runCompletion} from '../../../source/commands/complete.ts';
import {completionScript} from '../../../source/commands/completion-scripts.ts';
import {
	completionShells,
	completionSpec,
	modelNames,
	statusArguments,
	typedContext,
	usageFlags,
} from '../../../source/commands/completion.ts';
import {demoForCommands} from '../../../source/demo/for-commands.ts';
import {scenarioNames} from '../../../source/demo/scenarios.ts';
import {agentUsage} from '../../../source/agent/main.ts';
import {MODEL_SERVER_USAGE} from '../../../source/model-server/main.ts';

const inputs = {scenarios: scenarioNames, usages: {agent: agentUsage, 'model-server': MODEL_SERVER_USAGE}};
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-completion-'));
const kubeconfig = path.join(directory, 'kubeconfig');
writeFileSync(
	kubeconfig,
	'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\n' +
		'contexts: [{name: prod-eu, context: {cluster: c, user: u}}, {name: staging, context: {cluster: c, user: u, namespace: team-a}}]\ncurrent-context: staging\n',
);

function captured() {
	const io = {
		out: '',
		err: '',
		stdout: {write: (chunk: string) => (io.out += chunk)},
		stderr: {write: (chunk: string) => (io.err += chunk)},
	};
	return io;
}

/** Words a shell may hand over: flags of the table, their values, and anything at all. */
const word = fc.oneof(
	fc.constantFrom(
		...flagTable.flatMap((flag) => [`--${flag.name}`, ...(flag.short ? [`-${flag.short}`] : [])]),
		'--',
		'-',
		'=',
		'',
		'--kubeconfig=',
		'--context=',
	),
	fc.constantFrom(...subcommandTable.map((subcommand) => subcommand.name), kubeconfig, 'prod-eu', 'nope'),
	fc.string({maxLength: 12}),
	fc.string({unit: 'binary', maxLength: 8}),
);

describe('modeldeck completion SHELL', () => {
	it('prints a script for bash, zsh and fish', () => {
		for (const shell of completionShells) {
			const io = captured();
			expect(runCompletion([shell], inputs, io)).toBe(0);
			expect(io.err).toBe('');
			expect(io.out).toContain(' __complete ');
		}
	});

	it('refuses anything else with exit 2, naming the shells and an example, and never throws', () => {
		fc.assert(
			fc.property(fc.array(fc.oneof(word, fc.constantFrom('bash', 'zsh', 'fish', 'tcsh', 'BASH', '--help')), {maxLength: 4}), (argv) => {
				const io = captured();
				const code = runCompletion(argv, inputs, io);
				const valid = argv.length === 1 && (completionShells as readonly string[]).includes(argv[0]!);
				const help = argv[0] === '--help' || argv[0] === '-h';
				if (valid || help) {
					expect(code).toBe(0);
					expect(io.err).toBe('');
					return;
				}

				expect(code).toBe(2);
				expect(io.out).toBe('');
				expect(io.err).toMatch(
					/^modeldeck completion (needs a shell: bash, zsh, fish \(got .*\), e\.g\. source <\(modeldeck completion bash\)|takes one shell, not .*: modeldeck completion (bash|zsh|fish))\n$/s,
				);
			}),
		);
	});
});

describe('the scripts, made from the tables', () => {
	const spec = completionSpec(inputs);
	const bash = completionScript('bash', spec);

	it('list every subcommand and every flag of the one flag table, and the enumerations with their values', () => {
		for (const subcommand of subcommandTable) expect(bash).toContain(subcommand.name);
		for (const flag of flagTable) expect(bash).toContain(`--${flag.name}`);
		expect(bash).toContain("'_ --colors') echo 'choices auto full 16 none'");
		expect(bash).toContain(`'_ --scenario') echo 'choices ${scenarioNames.join(' ')}'`);
		expect(bash).toContain("'status --context') echo 'contexts'");
	});

	it("read the agent's and the model server's flags from their usage texts", () => {
		const agent = spec.commands.find((command) => command.name === 'agent')!;
		expect(agent.flags.map((flag) => flag.name)).toEqual(
			expect.arrayContaining(['listen', 'db', 'guard', 'no-auth', 'loadtest-service-account', 'help']),
		);
		expect(agent.flags.find((flag) => flag.name === 'db')?.value).toEqual({kind: 'file'});
		expect(agent.flags.find((flag) => flag.name === 'listen')?.value).toEqual({kind: 'free'});
		expect(agent.flags.find((flag) => flag.name === 'guard-config')?.value).toEqual({kind: 'file'});
		expect(agent.flags.find((flag) => flag.name === 'guard')?.value).toBeUndefined();
		expect(agent.flags.find((flag) => flag.name === 'help')?.short).toBe('h');
		for (const flag of agent.flags) expect(agentUsage).toContain(`--${flag.name}`);
		const server = spec.commands.find((command) => command.name === 'model-server')!;
		expect(server.flags.map((flag) => flag.name)).toEqual(expect.arrayContaining(['listen', 'model', 'model-version', 'log-url']));
	});

	it('usageFlags reads any text without throwing, and only names that are flag names', () => {
		fc.assert(
			fc.property(fc.string({maxLength: 400}), (text) => {
				for (const flag of usageFlags(text)) expect(flag.name).toMatch(/^[a-z][a-z0-9-]*$/);
			}),
		);
	});

	it('refuse to embed a word that could break out of its quotes', () => {
		const bad = {...spec, consoleFlags: [{name: "colors'; rm -rf ~", description: '', value: {kind: 'free' as const}}]};
		expect(() => completionScript('bash', bad)).toThrow(/is not a plain word/);
		const badChoice = {
			...spec,
			consoleFlags: [{name: 'colors', description: '', value: {kind: 'choices' as const, values: ['$(reboot)']}}],
		};
		for (const shell of completionShells) expect(() => completionScript(shell, badChoice)).toThrow(/is not a plain word/);
	});
});

describe('modeldeck __complete', () => {
	it('contexts: the kubeconfig named on the line, else $KUBECONFIG; the demo with --demo', async () => {
		let io = captured();
		expect(await runComplete(['contexts', '--', '--kubeconfig', kubeconfig, '--context'], {demoContexts: ['demo-prod']}, io)).toBe(0);
		expect(io.out).toBe('prod-eu\nstaging\n');
		io = captured();
		expect(
			await runComplete(
				['contexts', '--', 'status'],
				{demoContexts: ['demo-prod'], env: {KUBECONFIG: `${kubeconfig}${path.delimiter}/elsewhere`}},
				io,
			),
		).toBe(0);
		expect(io.out).toBe('prod-eu\nstaging\n');
		io = captured();
		expect(
			await runComplete(['contexts', '--', '--demo', '--kubeconfig', kubeconfig], {demoContexts: ['demo-prod', 'demo-staging']}, io),
		).toBe(0);
		expect(io.out).toBe('demo-prod\ndemo-staging\n');
	});

	it('contexts, for any words typed: exit 0 and only names of the kubeconfig or the demo, never a throw', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(word, {maxLength: 8}), async (words) => {
				const io = captured();
				const code = await runComplete(
					['contexts', '--', ...words],
					{demoContexts: ['demo-prod', 'demo-staging'], env: {KUBECONFIG: kubeconfig}},
					io,
				);
				expect(code).toBe(0);
				expect(io.err).toBe('');
				for (const line of io.out.split('\n').filter(Boolean)) expect(['prod-eu', 'staging', 'demo-prod', 'demo-staging']).toContain(line);
			}),
			{numRuns: 60},
		);
	});

	it('anything but contexts or models is a usage error (exit 2), never a throw', async () => {
		await fc.assert(
			fc.asyncProperty(word, fc.array(word, {maxLength: 3}), async (what, rest) => {
				fc.pre(what !== 'contexts' && what !== 'models');
				const io = captured();
				expect(await runComplete([what, ...rest], {demoContexts: []}, io)).toBe(2);
				expect(io.err).toMatch(/^Usage: modeldeck __complete contexts\|models -- WORDS/);
				expect(io.out).toBe('');
			}),
			{numRuns: 50},
		);
	});

	it('models: the names of `status --json` on the demo the line names', async () => {
		const io = captured();
		expect(
			await runComplete(['models', '--', 'weight', '--demo', '--scenario', 'calm'], {demoContexts: [], demo: demoForCommands}, io),
		).toBe(0);
		expect(io.out.split('\n')).toEqual(expect.arrayContaining(['fraud-detector', 'sentiment']));
	});
});

describe('reading the typed line', () => {
	it('takes the flags that point at a cluster and leaves the rest; any words, never a throw', () => {
		expect(typedContext(['status', '--context', 'prod', '-n', 'team-a', '--kubeconfig=/k', '--demo', '--scenario', 'calm'])).toEqual({
			demo: true,
			allNamespaces: false,
			context: 'prod',
			namespace: 'team-a',
			kubeconfig: '/k',
			scenario: 'calm',
		});
		// A flag missing its value takes nothing, not the next flag.
		expect(typedContext(['--context', '--demo'])).toEqual({demo: false, allNamespaces: false});
		fc.assert(
			fc.property(fc.array(word, {maxLength: 10}), (words) => {
				const typed = typedContext(words);
				const args = statusArguments(typed, 2);
				expect(args.slice(0, 3)).toEqual(['--json', '--timeout', '2']);
				for (const value of [typed.context, typed.namespace, typed.kubeconfig, typed.scenario]) {
					if (value !== undefined) expect(value.startsWith('-') || value === '').toBe(false);
				}
			}),
		);
	});

	it('modelNames keeps plain names of a status document, once each, and reads anything without throwing', () => {
		expect(modelNames(JSON.stringify({models: [{name: 'a'}, {name: 'b'}, {name: 'a'}, {name: 'x y'}, {name: 3}, null]}))).toEqual([
			'a',
			'b',
		]);
		fc.assert(
			fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
				for (const name of modelNames(text)) expect(name).toMatch(/^[\w.-]+$/);
			}),
		);
	});
});
