/**
 * The built `modeldeck` as a process, as a script or an operator runs it: exit codes, messages, and that it exits.
 * API servers that misbehave are real sockets: one that accepts connections and never answers, and a closed port.
 * `npm test` builds dist/ before the tests run.
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runProcess, type ProcessRun} from '../support/child-process.ts';
import {PtyTerminal} from '../support/terminal.ts';

const cli = path.resolve('dist/cli.js');
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-cli-'));

/**
 * Run the built CLI; a process still alive after LIVENESS_MS is killed and the test fails (it did not exit). The bound
 * is a liveness check with room for a loaded machine (timeout + 10 s), not a speed target: before the fix these
 * commands lived to 30 s.
 */
async function run(args: string[], options: {configText?: string; livenessMs?: number} = {}): Promise<ProcessRun> {
	if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm test does).');
	const configDirectory = mkdtempSync(path.join(directory, 'config-'));
	if (options.configText !== undefined) writeFileSync(path.join(configDirectory, 'config.json'), options.configText);
	const started = performance.now();
	const result = await runProcess(process.execPath, [cli, ...args], {
		env: {...process.env, MODELDECK_CONFIG_DIR: configDirectory, KUBECONFIG: ''},
		livenessMs: options.livenessMs ?? 20_000,
		label: `modeldeck ${args.join(' ')}`,
	});
	// Wall-clock time, printed for the record and never asserted.
	console.log(`modeldeck ${args.join(' ')}: exit ${result.code} after ${((performance.now() - started) / 1000).toFixed(2)} s`);
	return result;
}

function kubeconfig(name: string, server: string, options: {current?: boolean} = {}): string {
	const file = path.join(directory, `${name}.yaml`);
	writeFileSync(
		file,
		[
			'apiVersion: v1',
			'kind: Config',
			`clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
			'users: [{name: u, user: {token: t}}]',
			`contexts: [{name: ${name}, context: {cluster: c, user: u}}]`,
			...(options.current === false ? [] : [`current-context: ${name}`]),
		].join('\n'),
	);
	return file;
}

/** A server that accepts every connection and never says a word. */
let silent: net.Server;
const held: net.Socket[] = [];
let silentKubeconfig: string;
let refusedKubeconfig: string;

beforeAll(async () => {
	silent = net.createServer((socket) => {
		held.push(socket);
		socket.on('error', () => undefined);
	});
	await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
	silentKubeconfig = kubeconfig('silent-ctx', `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
	// A port that was just free and is closed again: connections to it are refused.
	const closed = net.createServer();
	await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
	const port = (closed.address() as net.AddressInfo).port;
	await new Promise((resolve) => closed.close(resolve));
	refusedKubeconfig = kubeconfig('refused-ctx', `https://127.0.0.1:${port}`);
});

afterAll(() => {
	for (const socket of held) socket.destroy();
	silent?.close();
});

describe.concurrent('timeouts hold end to end (the process exits, not only the message)', () => {
	it('weight --timeout 5 against a server that never answers: exit 1, says so, and exits (it lingered to 30 s)', async () => {
		const result = await run(['weight', 'fraud', '20', '--yes', '--timeout', '5', '--kubeconfig', silentKubeconfig], {livenessMs: 15_000});
		expect(result.code).toBe(1);
		expect(result.stderr).toBe(
			'modeldeck weight: no answer from silent-ctx within 5 s; is the cluster reachable? (--timeout SECONDS waits longer)\n',
		);
	});

	it('status with its default 15 s against a server that never answers exits (it lingered to 30 s)', async () => {
		const result = await run(['status', '--kubeconfig', silentKubeconfig], {livenessMs: 25_000});
		expect(result.code).toBe(1);
		expect(result.stderr).toContain('no answer from silent-ctx within 15 s');
	});

	it('status --json --timeout 2 against a server that never answers exits', async () => {
		const result = await run(['status', '--json', '--timeout', '2', '--kubeconfig', silentKubeconfig], {livenessMs: 12_000});
		expect(result.code).toBe(1);
		expect(result.stdout).toBe('');
	});

	it('against a refused connection the message says what happens: no "retrying" from a command that gives up', async () => {
		const result = await run(['weight', 'fraud', '20', '--yes', '--kubeconfig', refusedKubeconfig], {livenessMs: 20_000});
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/^modeldeck weight: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connection refused/);
		expect(result.stderr).not.toContain('retrying');
	});
});

describe.concurrent('the context is always the truth', () => {
	it('--context that the kubeconfig does not have exits 2 listing its contexts, console and commands alike', async () => {
		const consoleRun = await run(['--kubeconfig', refusedKubeconfig, '--context', 'nope']);
		expect(consoleRun.code).toBe(2);
		expect(consoleRun.stderr).toBe(
			`Context nope is not in the kubeconfig ${refusedKubeconfig} (contexts: refused-ctx). Pick one with --context NAME.\n`,
		);
		const status = await run(['status', '--kubeconfig', refusedKubeconfig, '--context', 'nope']);
		expect(status.code).toBe(2);
		expect(status.stderr).toBe(
			'modeldeck status: context nope is not in the kubeconfig (contexts: refused-ctx); pick one of them with --context NAME\n',
		);
		const demo = await run(['--demo', '--context', 'nope']);
		expect(demo.code).toBe(2);
		expect(demo.stderr).toContain('Context nope is not in the demo (contexts: demo-prod, demo-staging)');
	});

	it('--context without a value refuses to run (it was accepted)', async () => {
		for (const args of [
			['--demo', '--context'],
			['status', '--demo', '--context'],
			['weight', 'fraud', '20', '--context', '--yes'],
		]) {
			const result = await run(args);
			expect(result.code).toBe(2);
			expect(result.stderr).toContain('--context needs a value: --context NAME');
		}
	});

	it('status and weight with --demo --context demo-staging act on demo-staging (they acted on demo-prod)', async () => {
		const status = await run(['status', '--demo', '--json', '--context', 'demo-staging', '--scenario', 'calm']);
		expect(status.code).toBe(0);
		expect(JSON.parse(status.stdout).context).toBe('demo-staging');
		// --force: demo-staging's release candidate is 8% slower by design, which the judge fails (the danger gate).
		const weight = await run(['weight', 'staging/recommender', '45', '--demo', '--yes', '--force', '--context', 'demo-staging']);
		expect(weight.code).toBe(0);
		expect(weight.stdout).toMatch(/^recommender: \S+ 70% → 55%, \S+ 30% → 45% — done\n$/);
	});
});

describe.concurrent('arguments, help and settings', () => {
	it('weight MODEL -5 says what a weight is, not an argument-parser error', async () => {
		const result = await run(['weight', 'fraud', '-5', '--demo']);
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(/^modeldeck weight: "-5" is not a weight: type a whole number from 0 to 100\n/);
	});

	it('--version prints the version from package.json (meow did this before)', async () => {
		const result = await run(['--version']);
		expect(result).toMatchObject({code: 0, stderr: ''});
		expect(result.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
	});

	it("keeps Node's compile cache per user (~/.cache or $XDG_CACHE_HOME), none when it is turned off, and starts when it cannot write one", async () => {
		const home = mkdtempSync(path.join(directory, 'home-'));
		const start = async (env: Record<string, string>) => {
			const {NODE_COMPILE_CACHE: _set, NODE_DISABLE_COMPILE_CACHE: _off, XDG_CACHE_HOME: _xdg, ...inherited} = process.env;
			const result = await runProcess(process.execPath, [cli, 'status', '--demo', '--json'], {
				env: {...inherited, HOME: home, MODELDECK_CONFIG_DIR: mkdtempSync(path.join(directory, 'config-')), KUBECONFIG: '', ...env},
				livenessMs: 20_000,
				label: 'modeldeck status --demo --json',
			});
			expect(result).toMatchObject({code: 0, stderr: ''});
			expect(JSON.parse(result.stdout)).toHaveProperty('models');
		};
		const cached = (folder: string) => (existsSync(folder) ? readdirSync(folder, {recursive: true}).length : 0);

		await start({NODE_DISABLE_COMPILE_CACHE: '1'});
		expect(cached(path.join(home, '.cache'))).toBe(0);
		await start({});
		expect(cached(path.join(home, '.cache/modeldeck/compile-cache'))).toBeGreaterThan(1);
		const xdg = mkdtempSync(path.join(directory, 'xdg-'));
		await start({XDG_CACHE_HOME: xdg});
		expect(cached(path.join(xdg, 'modeldeck/compile-cache'))).toBeGreaterThan(1);
		// A cache folder that cannot be made (a file is in its place): modeldeck runs as without a cache.
		const blocked = mkdtempSync(path.join(directory, 'blocked-'));
		writeFileSync(path.join(blocked, 'modeldeck'), 'not a folder');
		await start({XDG_CACHE_HOME: blocked});
	});

	it('--help lists --yes and --json', async () => {
		const result = await run(['--help']);
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/-y, --yes +Apply without asking/);
		expect(result.stdout).toMatch(/--json +status: print the modeldeck.status\/v1 JSON document/);
	});

	it('status --json --demo --scenario latency-regression --at 5m reads fraud-detector fail', async () => {
		const result = await run(['status', '--json', '--demo', '--scenario', 'latency-regression', '--at', '5m']);
		expect(result.code, result.stderr).toBe(0);
		const fraud = JSON.parse(result.stdout).models.find((model: {name: string}) => model.name === 'fraud-detector');
		expect(fraud.verdict.result, fraud.verdict.summary).toBe('fail');
	});

	it("promote on the demo's critical canary (latency-regression --at 5m) is refused with the evidence unless --force", async () => {
		const args = ['promote', 'fraud-detector', '--demo', '--scenario', 'latency-regression', '--at', '5m', '--yes'];
		const refused = await run(args);
		expect(refused.code, refused.stdout).toBe(1);
		expect(refused.stdout).toBe('');
		expect(refused.stderr).toMatch(/refused: DANGER: v13 would get more traffic \(10% → 100%\)/);
		expect(refused.stderr).toMatch(/critical: canary p99 \d+ ms is \d+% worse than stable/);
		expect(refused.stderr).toContain('pass --force to go ahead anyway');
		const forced = await run([...args, '--force']);
		expect(forced.code, forced.stderr).toBe(0);
		expect(forced.stdout).toMatch(/v13 10% → 100% — done/);
	});

	it('--at without --demo exits 2 and says to add --demo, console and commands alike', async () => {
		for (const args of [
			['--at', '5m'],
			['status', '--at', '5m'],
		]) {
			const result = await run(args);
			expect(result.code).toBe(2);
			expect(result.stderr).toContain('--at only applies to the demo: add --demo');
		}
	});

	it('a settings file with a top-level readOnly refuses weight --yes (it changed the route)', async () => {
		const result = await run(['weight', 'recommender', '20', '--demo', '--yes'], {configText: '{"readOnly": true}'});
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/^modeldeck weight: refused: read-only \(readOnly in .*config\.json\); weight changes the cluster\n$/);
	});

	it('a settings file that is not an object is refused and left as it is (it was rewritten with defaults)', async () => {
		for (const args of [['status', '--demo'], ['--demo']]) {
			const configDirectory = mkdtempSync(path.join(directory, 'array-'));
			const file = path.join(configDirectory, 'config.json');
			writeFileSync(file, '[]');
			const {code, stderr} = await runProcess(process.execPath, [cli, ...args], {
				env: {...process.env, MODELDECK_CONFIG_DIR: configDirectory},
				livenessMs: 20_000,
			});
			expect(code).toBe(1);
			expect(stderr).toContain(`Settings file ${file} is invalid:\n  line 1, column 1: the settings file must be a JSON object`);
			expect(readFileSync(file, 'utf8')).toBe('[]');
		}
	});
});

describe('the header in a pty', () => {
	let terminal: PtyTerminal | undefined;
	afterAll(() => terminal?.kill());

	it("names the context in force from the first frame, with its API server unreachable (it said 'default')", async () => {
		// The only context, and no current-context: the one in force is that one.
		const file = kubeconfig('dead-ctx', 'https://127.0.0.1:1', {current: false});
		terminal = PtyTerminal.spawn(process.execPath, [cli, '--kubeconfig', file], {
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(directory, 'pty-'))},
		});
		const first = await terminal.waitForFirst((screen) => / · /.test(screen.split('\n')[0] ?? ''), 30_000);
		expect(first.split('\n')[0]).toMatch(/^modeldeck dead-ctx · all namespaces/);
		const later = await terminal.waitFor(/cluster:down/, 30_000);
		expect(later.split('\n')[0]).toMatch(/^modeldeck dead-ctx · /);
		expect(later).toContain('connection refused');
		terminal.kill();
	});

	it('a kubeconfig with several contexts and none current: the header says so and c lists them and switches', async () => {
		const file = path.join(directory, 'two.yaml');
		writeFileSync(
			file,
			[
				'apiVersion: v1',
				'kind: Config',
				'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
				'users: [{name: u, user: {token: t}}]',
				'contexts: [{name: dead-a, context: {cluster: c, user: u}}, {name: dead-b, context: {cluster: c, user: u}}]',
			].join('\n'),
		);
		terminal = PtyTerminal.spawn(process.execPath, [cli, '--kubeconfig', file], {
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(directory, 'pty-'))},
		});
		const first = await terminal.waitFor(/sets no current-context/, 30_000);
		expect(first.split('\n')[0]).toMatch(/^modeldeck \(no context\) · /);
		terminal.press('c');
		const picker = await terminal.waitFor(/dead-b/, 10_000);
		expect(picker).toContain('dead-a');
		terminal.press('j');
		terminal.press('enter');
		// The header names the new context at once; the refusal follows when its first request fails.
		const switched = await terminal.waitFor(
			(screen) => /^modeldeck dead-b · /.test(screen.split('\n')[0] ?? '') && screen.includes('connection refused'),
			20_000,
		);
		expect(switched.split('\n')[0]).toMatch(/^modeldeck dead-b · /);
		terminal.kill();
	});

	it('settings with a top-level readOnly make the console read-only (it was ignored)', async () => {
		const configDirectory = mkdtempSync(path.join(directory, 'pty-'));
		writeFileSync(path.join(configDirectory, 'config.json'), '{"readOnly": true}');
		terminal = PtyTerminal.spawn(process.execPath, [cli, '--demo'], {env: {MODELDECK_CONFIG_DIR: configDirectory}});
		await terminal.waitFor(/sentiment/, 30_000);
		await terminal.waitFor('read-only', 30_000);
		terminal.press('p');
		await terminal.settle(300);
		expect(terminal.screen()).not.toContain('becomes stable');
		terminal.kill();
	});

	it('--demo --context demo-staging starts on demo-staging', async () => {
		terminal = PtyTerminal.spawn(process.execPath, [cli, '--demo', '--context', 'demo-staging'], {
			env: {MODELDECK_CONFIG_DIR: mkdtempSync(path.join(directory, 'pty-'))},
		});
		const first = await terminal.waitForFirst((screen) => / · /.test(screen.split('\n')[0] ?? ''), 30_000);
		expect(first.split('\n')[0]).toMatch(/demo-staging · /);
		terminal.kill();
	});
});
