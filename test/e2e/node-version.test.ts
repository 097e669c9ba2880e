/**
 * On a Node older than the engines range every entry point stops in its first line with the version found, the version
 * needed and the command that fixes it: the bin (dist/cli.js, run through its shebang), scripts/check-node.mjs,
 * `npm start`, `npm test` and `npm ci`. They are run with this machine's own old Node (20 on the CI image); before the
 * check, `npm start` died with ERR_UNKNOWN_FILE_EXTENSION ".ts" and the bin with errors from inside the bundle.
 * `npm test` builds dist/ before the tests run.
 */
import {spawnSync} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {runProcess, type ProcessRun} from '../support/child-process.ts';

const root = path.resolve('.');
const cli = path.resolve('dist/cli.js');
const checkScript = path.resolve('scripts/check-node.mjs');
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-node-version-'));
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string; engines: {node: string}};
const engines = manifest.engines.node;
const neededMatch = /^>=(\d+)\.(\d+)$/.exec(engines);
if (!neededMatch) throw new Error(`package.json's engines.node is ${engines}; this test understands only ">=MAJOR.MINOR"`);
const needed = [Number(neededMatch[1]), Number(neededMatch[2])] as const;
const installCommand = 'npm install -g --prefix ~/.node24 node@24 && export PATH=~/.node24/bin:$PATH';

function olderThanNeeded(version: string): boolean {
	const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
	return major < needed[0] || (major === needed[0] && minor < needed[1]);
}

/**
 * This machine's own Node older than the engines range: MODELDECK_OLD_NODE if set, else the first `node` on PATH or in
 * the usual places whose version is too old. Its absence fails the test: the check would otherwise go untested.
 */
function findOldNode(): {binary: string; version: string} {
	const candidates = [
		process.env['MODELDECK_OLD_NODE'],
		...(process.env['PATH'] ?? '').split(path.delimiter).map((entry) => path.join(entry, 'node')),
		'/usr/bin/node',
		'/usr/local/bin/node',
		'/bin/node',
	].filter((candidate): candidate is string => Boolean(candidate) && existsSync(candidate!));
	for (const binary of new Set(candidates)) {
		const result = spawnSync(binary, ['--version'], {encoding: 'utf8'});
		const version = result.stdout?.trim() ?? '';
		if (result.status === 0 && /^v\d+\.\d+/.test(version) && olderThanNeeded(version)) return {binary, version: version.slice(1)};
	}

	throw new Error(
		`No Node.js older than ${needed.join('.')} found (looked at ${[...new Set(candidates)].join(', ') || 'nothing'}): this test runs ` +
			'every entry point with one. The CI image has Node 20 at /usr/bin/node; elsewhere set MODELDECK_OLD_NODE=/path/to/an/old/node.',
	);
}

const oldNode = findOldNode();
/** PATH with the old Node first, as on a machine whose own Node is old (npm then runs with it too). */
const oldPath = [path.dirname(oldNode.binary), process.env['PATH']].join(path.delimiter);
const currentPath = [path.dirname(process.execPath), process.env['PATH']].join(path.delimiter);

afterAll(() => rmSync(directory, {recursive: true, force: true}));

/**
 * Runs a command in its own process group; if the check failed to stop it (`npm test` would go on to run the whole
 * suite) the group is killed after `livenessMs` and the run is reported as such, never left behind.
 */
function run(
	command: string,
	args: string[],
	options: {env?: Record<string, string | undefined>; cwd?: string; livenessMs?: number} = {},
): Promise<ProcessRun> {
	return runProcess(command, args, {
		cwd: options.cwd ?? root,
		env: {...process.env, ...options.env},
		livenessMs: options.livenessMs ?? 30_000,
		ownGroup: true,
		stillRunningMeans: 'the Node check did not stop it',
	});
}

/** The message's parts, or undefined if the line is not the message. */
function parseMessage(line: string | undefined): {needed: string; found: string; binary: string; fix: string} | undefined {
	const match = /^modeldeck needs Node\.js (\S+) or newer, but this is Node\.js (\S+) \((.+)\)\. Fix: (.+)$/.exec(line ?? '');
	return match ? {needed: match[1]!, found: match[2]!, binary: match[3]!, fix: match[4]!} : undefined;
}

function expectMessageFirst(result: ProcessRun, fix?: string): void {
	const first = result.stderr.split('\n')[0];
	const message = parseMessage(first);
	expect(message, `first line of stderr: ${first}\nstdout: ${result.stdout}`).toBeDefined();
	expect(message!.needed).toBe(needed.join('.'));
	expect(message!.found).toBe(oldNode.version);
	if (fix !== undefined) expect(message!.fix).toBe(fix);
	expect(result.code).not.toBe(0);
}

/** A HOME with Node 24 already installed the way the fix installs it (`npm install -g --prefix ~/.node24 node@24`). */
function homeWithNode24(version: string): string {
	const home = mkdtempSync(path.join(directory, 'home-'));
	mkdirSync(path.join(home, '.node24/bin'), {recursive: true});
	mkdirSync(path.join(home, '.node24/lib/node_modules/node'), {recursive: true});
	writeFileSync(path.join(home, '.node24/lib/node_modules/node/package.json'), JSON.stringify({name: 'node', version}));
	symlinkSync(process.execPath, path.join(home, '.node24/bin/node'));
	return home;
}

describe(`on this machine's old Node (${oldNode.binary})`, () => {
	it('the bin, run through its shebang, says what is wrong and how to fix it in its first line, and exits non-zero', async () => {
		if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
		for (const args of [['--demo'], ['--version'], ['status'], ['agent', '--help']]) {
			const result = await run(cli, args, {env: {PATH: oldPath, HOME: mkdtempSync(path.join(directory, 'home-')), NVM_DIR: undefined}});
			expectMessageFirst(result, installCommand);
			expect(result.stdout).toBe('');
		}
	});

	it('the check names the one fix that works here: PATH when ~/.node24 holds a new Node, nvm when it is there, else the install', async () => {
		const plain = await run(oldNode.binary, [checkScript], {env: {HOME: mkdtempSync(path.join(directory, 'home-')), NVM_DIR: undefined}});
		expectMessageFirst(plain, installCommand);
		expect(parseMessage(plain.stderr.split('\n')[0])!.binary).toBe(oldNode.binary);

		const installed = await run(oldNode.binary, [checkScript], {env: {HOME: homeWithNode24('24.21.0'), NVM_DIR: undefined}});
		expectMessageFirst(installed, 'export PATH=~/.node24/bin:$PATH');

		// An old Node in ~/.node24 is no fix: installing over it is.
		const stale = await run(oldNode.binary, [checkScript], {env: {HOME: homeWithNode24(oldNode.version), NVM_DIR: undefined}});
		expectMessageFirst(stale, installCommand);

		const nvmDirectory = mkdtempSync(path.join(directory, 'nvm-'));
		writeFileSync(path.join(nvmDirectory, 'nvm.sh'), '# nvm\n');
		const nvm = await run(oldNode.binary, [checkScript], {env: {HOME: mkdtempSync(path.join(directory, 'home-')), NVM_DIR: nvmDirectory}});
		expectMessageFirst(nvm, 'nvm install 24 && nvm use 24');
	});

	it('`npm start` and `npm test` stop at the check: its message is their first line after npm echoes the command', async () => {
		for (const script of ['start', 'test']) {
			const result = await run('npm', [script], {env: {PATH: oldPath}, livenessMs: 60_000});
			expectMessageFirst(result);
			// Nothing but npm's own echo of the script ran before or after the check.
			const stdout = result.stdout.split('\n').filter((line) => line.trim() !== '');
			expect(stdout).toEqual([`> modeldeck@${manifest.version} ${script}`, expect.stringMatching(/^> node scripts\/check-node\.mjs && /)]);
		}
	});

	it('`npm ci` refuses with EBADENGINE instead of warning and installing, and passes on the current Node', async () => {
		// A copy of the manifests: npm ci must not touch this worktree's node_modules. Without the project's scripts
		// (`prepare` checks the Node and patches node_modules, scripts/patch-dependencies.ts): the engines check is what
		// is tested here, and npm makes it before any script.
		const project = mkdtempSync(path.join(directory, 'project-'));
		for (const file of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(file, path.join(project, file));
		const refused = await run('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
			cwd: project,
			env: {PATH: oldPath},
			livenessMs: 60_000,
		});
		expect(refused.code).not.toBe(0);
		expect(refused.stderr).toMatch(/^npm error code EBADENGINE$/m);
		expect(refused.stderr).toContain(`Required: {"node":"${engines}"}`);
		expect(refused.stderr).toContain(`Actual:   {"node":"v${oldNode.version}"`);
		expect(existsSync(path.join(project, 'node_modules'))).toBe(false);

		const accepted = await run('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
			cwd: project,
			env: {PATH: currentPath},
			livenessMs: 120_000,
		});
		expect(accepted.stderr).not.toContain('EBADENGINE');
		expect(accepted.code, accepted.stderr).toBe(0);
	});
});

describe('the check itself', () => {
	it('needs what package.json engines and .ci/run need', () => {
		const declared = /var needed = \[(\d+), (\d+)\];/.exec(readFileSync(checkScript, 'utf8'));
		expect(declared && [Number(declared[1]), Number(declared[2])]).toEqual([...needed]);
		const ci = /major > (\d+) \|\| \(major === (\d+) && minor >= (\d+)\)/.exec(readFileSync('.ci/run', 'utf8'));
		expect(ci && [Number(ci[1]), Number(ci[2]), Number(ci[3])]).toEqual([needed[0], needed[0], needed[1]]);
	});

	it('lets the current Node through: the bin runs --version, the check prints nothing', async () => {
		const version = await run(cli, ['--version'], {env: {PATH: currentPath}});
		expect(version.stderr).toBe('');
		expect(version.stdout).toBe(`${manifest.version}\n`);
		expect(version.code).toBe(0);

		const check = await run(process.execPath, [checkScript]);
		expect(check).toEqual({code: 0, stdout: '', stderr: ''});
	});
});
