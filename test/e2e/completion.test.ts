/**
 * `modeldeck completion bash|zsh|fish` in the real shells: the built program (dist/cli.js, as `modeldeck` on PATH)
 * prints the script, the shell loads it, and its completion function is run on sample command lines — bash's
 * `_modeldeck` with COMP_WORDS/COMP_CWORD, zsh's `_modeldeck` with `words`/CURRENT and a `compadd` that prints what
 * it is given (zsh's own filters by the typed prefix afterwards), and fish's own `complete -C`. Dynamic answers go
 * back to the program: contexts from a kubeconfig file, models from `status --json` on the demo.
 *
 * bash is always there; zsh and fish come from Debian's packages (`apt-get install zsh fish`). Without them their
 * tests fail, saying so: a syntax check alone would not show that the script completes anything.
 */
import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';

const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-completion-'));
const bin = path.join(directory, 'bin');
mkdirSync(bin);
symlinkSync(path.resolve('dist/cli.js'), path.join(bin, 'modeldeck'));
const kubeconfig = path.join(directory, 'kubeconfig');
/** EKS names contexts by ARN: bash splits such a word at every ":". */
const eksContext = 'arn:aws:eks:eu-west-1:123456789012:cluster/ml';
const contexts = ['prod-eu', 'prod-us', 'staging', eksContext];
writeFileSync(
	kubeconfig,
	'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\n' +
		'contexts: [{name: prod-eu, context: {cluster: c, user: u}}, {name: prod-us, context: {cluster: c, user: u}}, {name: staging, context: {cluster: c, user: u}},\n' +
		`  {name: "${eksContext}", context: {cluster: c, user: u}}]\n`,
);
/** `modeldeck` (the built bin) and this Node first on PATH; the kubeconfig of the tests is the default one. */
const env = {
	...process.env,
	PATH: [bin, path.dirname(process.execPath), process.env['PATH']].join(path.delimiter),
	KUBECONFIG: kubeconfig,
	HOME: directory,
};

afterAll(() => rmSync(directory, {recursive: true, force: true}));

function shell(command: string, args: string[], livenessMs = 30_000): {code: number | null; stdout: string; stderr: string} {
	const result = spawnSync(command, args, {env, encoding: 'utf8', timeout: livenessMs});
	if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT')
		throw new Error(`${command} ${args.join(' ')} was still running after ${livenessMs} ms`);
	if (result.error) throw new Error(`${command} could not run (${result.error.message}); install it with apt-get install ${command}`);
	return {code: result.status, stdout: result.stdout, stderr: result.stderr};
}

/** bash's completion of WORDS (the last one is the word at the cursor). */
function bashComplete(...words: string[]): string[] {
	return bashCompleteWithin(30_000, ...words);
}

function bashCompleteWithin(livenessMs: number, ...words: string[]): string[] {
	const script =
		'source <(modeldeck completion bash) || exit 9; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _modeldeck; printf "%s\\n" "${COMPREPLY[@]}"';
	const result = shell('bash', ['-c', script, 'bash', ...words], livenessMs);
	expect(result.stderr).toBe('');
	expect(result.code).toBe(0);
	return result.stdout.split('\n').filter(Boolean);
}

/** zsh's `_modeldeck` on WORDS, with a compadd that prints its candidates. */
function zshComplete(...words: string[]): string[] {
	const script =
		'compdef() { : }; compadd() { while [[ $# -gt 0 && $1 != -- ]]; do shift; done; shift; print -rl -- "$@" }; _files() { print -r -- FILES }; ' +
		'source <(modeldeck completion zsh) || exit 9; words=("$@"); CURRENT=$#words; _modeldeck';
	const result = shell('zsh', ['-f', '-c', script, 'zsh', ...words]);
	expect(result.stderr).toBe('');
	return result.stdout.split('\n').filter(Boolean);
}

/** fish's own completion of LINE. */
function fishComplete(line: string): string[] {
	const result = shell('fish', ['--no-config', '-c', `modeldeck completion fish | source; complete -C ${JSON.stringify(line)}`]);
	expect(result.stderr).toBe('');
	return result.stdout
		.split('\n')
		.filter(Boolean)
		.map((entry) => entry.split('\t')[0]!);
}

describe('bash', () => {
	it('completes `modeldeck we` to weight, and every subcommand from nothing', () => {
		expect(bashComplete('modeldeck', 'we')).toEqual(['weight']);
		expect(bashComplete('modeldeck', '')).toEqual([
			'status',
			'weight',
			'promote',
			'rollback',
			'rollout',
			'agent',
			'model-server',
			'runbook',
			'config',
			'completion',
		]);
	});

	it("completes an enumeration's values: --colors, --scenario, also written --colors=", () => {
		expect(bashComplete('modeldeck', '--colors', '')).toEqual(['auto', 'full', '16', 'none']);
		expect(bashComplete('modeldeck', '--demo', '--colors', '=', '')).toEqual(['auto', 'full', '16', 'none']);
		expect(bashComplete('modeldeck', 'status', '--demo', '--scenario', 'me')).toEqual(['memory-leak']);
	});

	it("completes flags: the console's, and each command's own", () => {
		expect(bashComplete('modeldeck', '--all')).toEqual(['--all-namespaces']);
		expect(bashComplete('modeldeck', 'status', '--js')).toEqual(['--json']);
		// --json is status's, not the console's nor weight's.
		expect(bashComplete('modeldeck', '--js')).toEqual([]);
		expect(bashComplete('modeldeck', 'weight', '--js')).toEqual([]);
		expect(bashComplete('modeldeck', 'agent', '--guard')).toEqual(['--guard', '--guard-dry-run', '--guard-config']);
		expect(bashComplete('modeldeck', 'rollout', '--ima')).toEqual(['--image']);
		expect(bashComplete('modeldeck', 'runbook', '')).toEqual(['check', 'run', 'play']);
	});

	it("completes contexts from the kubeconfig (the one on the line, else $KUBECONFIG's), and the demo's with --demo", () => {
		expect(bashComplete('modeldeck', '--context', 'prod')).toEqual(['prod-eu', 'prod-us']);
		expect(bashComplete('modeldeck', 'status', '--context', '')).toEqual(contexts);
		expect(bashComplete('modeldeck', '--demo', '--context', '')).toEqual(['demo-prod', 'demo-staging']);
	});

	it('completes a context name with ":" in it (an EKS ARN), which bash splits into several words', () => {
		// As bash hands it over with ":" in COMP_WORDBREAKS: the reply replaces the last fragment only.
		expect(bashComplete('modeldeck', '--context', 'arn', ':', 'aws', ':', 'eks', ':', 'eu')).toEqual(['eu-west-1:123456789012:cluster/ml']);
		expect(bashComplete('modeldeck', '--context', 'arn', ':')).toEqual(['aws:eks:eu-west-1:123456789012:cluster/ml']);
		// Without ":" and "=" in COMP_WORDBREAKS the word is whole, and so is the reply.
		expect(bashComplete('modeldeck', '--context', 'arn:aws')).toEqual([eksContext]);
		expect(bashComplete('modeldeck', '--colors=a')).toEqual(['--colors=auto']);
		// A flag's value with ":" in it is still one value: what follows is the first argument, a model.
		expect(bashComplete('modeldeck', 'status', '--demo', '--prometheus', 'http', ':', '//localhost', ':', '9090', 'fr')).toEqual([
			'fraud-detector',
		]);
	});

	it('completes a model name from `status --json` as the first argument only, and the fixed words of config and completion', () => {
		const models = bashComplete('modeldeck', 'weight', '--demo', '');
		expect(models).toEqual(expect.arrayContaining(['fraud-detector', 'sentiment', 'recommender']));
		expect(bashComplete('modeldeck', 'promote', '--demo', '--scenario', 'calm', 'fr')).toEqual(['fraud-detector']);
		// PERCENT, the second argument of weight, is not a model.
		expect(bashComplete('modeldeck', 'weight', '--demo', 'fraud-detector', '')).toEqual([]);
		expect(bashComplete('modeldeck', 'config', '')).toEqual(['path']);
		expect(bashComplete('modeldeck', 'completion', 'z')).toEqual(['zsh']);
	});

	it('completes nothing for a model when the cluster cannot be reached, and does not hang', async () => {
		// The kubeconfig's server refuses connections: status fails, the completion is empty.
		expect(bashComplete('modeldeck', 'rollback', '')).toEqual([]);
		// A server that takes the connection and never answers: `status --timeout 2` gives up, and so does the TAB.
		// The liveness bound, 12 s, is below status's own default timeout (15 s), so a completion that did not pass its
		// short timeout would fail here. The kernel completes the handshakes on its own.
		const silent = net.createServer(() => undefined);
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
		const {port} = silent.address() as net.AddressInfo;
		const silentConfig = path.join(directory, 'silent-kubeconfig');
		writeFileSync(silentConfig, readFileSync(kubeconfig, 'utf8').replace('https://127.0.0.1:1', `https://127.0.0.1:${port}`));
		try {
			expect(bashCompleteWithin(12_000, 'modeldeck', 'rollback', '--kubeconfig', silentConfig, '--context', 'staging', '')).toEqual([]);
		} finally {
			silent.close();
		}
	});
});

describe('zsh', () => {
	it('parses (zsh -n) and completes subcommands, --colors= values, contexts and models', () => {
		const script = shell('modeldeck', ['completion', 'zsh']);
		expect(script.code).toBe(0);
		const check = spawnSync('zsh', ['-n'], {input: script.stdout, encoding: 'utf8', env});
		expect(check.stderr).toBe('');
		expect(check.status).toBe(0);
		expect(zshComplete('modeldeck', 'we')).toEqual([
			'status',
			'weight',
			'promote',
			'rollback',
			'rollout',
			'agent',
			'model-server',
			'runbook',
			'config',
			'completion',
		]);
		expect(zshComplete('modeldeck', '--colors=')).toEqual(['auto', 'full', '16', 'none']);
		expect(zshComplete('modeldeck', '--colors', '')).toEqual(['auto', 'full', '16', 'none']);
		expect(zshComplete('modeldeck', '--context', '')).toEqual(contexts);
		expect(zshComplete('modeldeck', 'weight', '--demo', '')).toEqual(expect.arrayContaining(['fraud-detector', 'sentiment']));
		expect(zshComplete('modeldeck', '--kubeconfig', '')).toEqual(['FILES']);
	});
});

describe('fish', () => {
	it('parses (fish -n) and completes subcommands, --colors values, contexts and models', () => {
		const script = shell('modeldeck', ['completion', 'fish']);
		expect(script.code).toBe(0);
		const file = path.join(directory, 'modeldeck.fish');
		writeFileSync(file, script.stdout);
		const check = spawnSync('fish', ['--no-config', '-n', file], {encoding: 'utf8', env});
		expect(check.stderr).toBe('');
		expect(check.status).toBe(0);
		expect(fishComplete('modeldeck we')).toEqual(['weight']);
		expect(fishComplete('modeldeck --colors ')).toEqual(expect.arrayContaining(['auto', 'full', '16', 'none']));
		// fish sorts what it offers.
		expect(fishComplete('modeldeck status --context ').sort()).toEqual([...contexts].sort());
		expect(fishComplete('modeldeck weight --demo fr')).toEqual(['fraud-detector']);
	});
});

describe('modeldeck completion itself', () => {
	it('refuses an unknown shell with exit 2 and names the ones it has', () => {
		const result = shell('modeldeck', ['completion', 'tcsh']);
		expect(result).toEqual({
			code: 2,
			stdout: '',
			stderr: 'modeldeck completion needs a shell: bash, zsh, fish (got "tcsh"), e.g. source <(modeldeck completion bash)\n',
		});
	});

	it('is listed in modeldeck --help', () => {
		expect(shell('modeldeck', ['--help']).stdout).toMatch(/\$ modeldeck completion bash\|zsh\|fish +the shell completion script/);
	});
});
