/**
 * The package as npm publishes it: `npm pack` of a clean checkout (whose prepack builds dist/), the tarball installed
 * into an empty prefix outside the repository, and the installed `modeldeck` run through its bin link as
 * `npx modeldeck` runs it — the demo to its first frame in a pty, `--version`, `agent --help`. Nothing the repository has and the tarball lacks (its
 * devDependencies, source/, files outside `files`) can be reached from there.
 */
import {build} from 'esbuild';
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync} from 'node:fs';
import {builtinModules} from 'node:module';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {runProcess, type ProcessRun} from '../support/child-process.ts';
import {PtyTerminal} from '../support/terminal.ts';

const root = path.resolve('.');
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {name: string; version: string; dependencies: Record<string, string>};
const directory = realpathSync(mkdtempSync(path.join(tmpdir(), 'modeldeck-packed-')));
const prefix = path.join(directory, 'prefix');
const bin = path.join(prefix, 'bin', 'modeldeck');
const installed = path.join(prefix, 'lib', 'node_modules', manifest.name);
/** This Node first on PATH: the bin's shebang (`env node`) and npm pick it. No NODE_PATH: only the install resolves. */
const env = {...process.env, PATH: [path.dirname(process.execPath), process.env['PATH']].join(path.delimiter), NODE_PATH: undefined};
/**
 * Bare imports the bundle leaves to Node at run time that need no dependency: Ink's react-devtools-core is loaded only
 * when DEV=true (a developer's session with React DevTools, which installs it).
 */
const optionalImports = new Set(['react-devtools-core']);
/** scripts/build.ts's banner, the first line of every bundle file. */
const bundleBanner =
	"import {createRequire as __modeldeckCreateRequire} from 'node:module';const require=__modeldeckCreateRequire(import.meta.url);";

let tarballFiles: string[] = [];
let terminal: PtyTerminal | undefined;

function run(command: string, args: string[], cwd: string, livenessMs = 180_000): Promise<ProcessRun> {
	return runProcess(command, args, {cwd, env, livenessMs});
}

/**
 * A clean checkout of this working tree (its tracked and untracked-but-not-ignored files, so no dist/) sharing its
 * node_modules: packing it shows that prepack builds what the tarball needs, as on a fresh clone before `npm publish`.
 */
async function cleanCheckout(): Promise<string> {
	const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root, 30_000);
	if (listed.code !== 0) throw new Error(`git ls-files failed (exit ${listed.code}): ${listed.stderr}`);
	const checkout = path.join(directory, 'checkout');
	for (const file of listed.stdout.split('\0')) {
		// node_modules is a symlink in a worktree (git does not see it as the ignored directory); deleted files are listed too.
		if (!file || file === 'node_modules' || !existsSync(file)) continue;
		mkdirSync(path.dirname(path.join(checkout, file)), {recursive: true});
		copyFileSync(file, path.join(checkout, file));
	}

	symlinkSync(realpathSync('node_modules'), path.join(checkout, 'node_modules'));
	return checkout;
}

beforeAll(async () => {
	const checkout = await cleanCheckout();
	expect(existsSync(path.join(checkout, 'dist'))).toBe(false);
	const packed = await run('npm', ['pack', '--json', '--pack-destination', directory], checkout);
	if (packed.code !== 0) throw new Error(`npm pack failed (exit ${packed.code}):\n${packed.stderr}`);
	const [summary] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{filename: string; files: Array<{path: string}>}>;
	tarballFiles = summary!.files.map((file) => file.path);
	// Offline is not required; the npm cache makes a repeated run quick.
	const install = await run(
		'npm',
		['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', path.join(directory, summary!.filename)],
		directory,
	);
	if (install.code !== 0) throw new Error(`npm install of the tarball failed (exit ${install.code}):\n${install.stderr}`);
}, 300_000);

// The install holds a few hundred packages; nothing else reads it afterwards.
afterAll(() => rmSync(directory, {recursive: true, force: true}));

afterEach(() => {
	terminal?.kill();
	terminal = undefined;
});

describe('the packed tarball, installed into an empty prefix', () => {
	it('holds the bundle, its bin and the manifest, and nothing of the repository else', () => {
		expect(tarballFiles).toContain('dist/cli.js');
		expect(tarballFiles).toContain('dist/main.js');
		expect(tarballFiles).toContain('package.json');
		expect(tarballFiles.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(file))).toEqual(
			[],
		);
		expect(realpathSync(bin)).toBe(path.join(installed, 'dist', 'cli.js'));
		// Nothing above the install resolves bare imports, so what ran below came from the tarball and its dependencies.
		for (let parent = path.dirname(prefix); parent !== path.dirname(parent); parent = path.dirname(parent)) {
			expect(existsSync(path.join(parent, 'node_modules')), parent).toBe(false);
		}
	});

	it('every package the bundle imports at run time is a dependency (not a devDependency) and was installed', async () => {
		const dist = path.join(installed, 'dist');
		const files = readdirSync(dist, {recursive: true, encoding: 'utf8'}).filter((file) => file.endsWith('.js'));
		expect(readFileSync(path.join(dist, 'main.js'), 'utf8')).toContain(bundleBanner);
		// esbuild parses the installed bundle and lists what it leaves to Node. The bundle's banner binds `require` to
		// createRequire(); without it esbuild sees require() calls as imports too.
		const result = await build({
			entryPoints: files.map((file) => path.join(dist, file)),
			bundle: true,
			splitting: true,
			format: 'esm',
			platform: 'node',
			packages: 'external',
			write: false,
			outdir: path.join(directory, 'scan'),
			metafile: true,
			logLevel: 'silent',
			plugins: [
				{
					name: 'unbind-require',
					setup(plugin) {
						plugin.onLoad({filter: /\.js$/}, (args) => ({
							contents: readFileSync(args.path, 'utf8').replace(bundleBanner, ''),
							loader: 'js',
						}));
					},
				},
			],
		});
		const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
		const imported = new Set<string>();
		for (const input of Object.values(result.metafile.inputs)) {
			for (const {path: specifier, external} of input.imports) {
				// <runtime> is esbuild's own helper module.
				if (!external || builtins.has(specifier) || specifier.startsWith('<')) continue;
				imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
			}
		}

		expect([...imported].sort()).toContain('react-devtools-core'); // the scan sees what it should
		for (const name of imported) {
			if (optionalImports.has(name)) continue;
			expect(Object.keys(manifest.dependencies), `dist/ imports ${name}`).toContain(name);
			expect(existsSync(path.join(installed, 'node_modules', name, 'package.json')), `${name} installed`).toBe(true);
		}
	});

	it('`modeldeck --version` prints the package version', async () => {
		const result = await run(bin, ['--version'], directory, 30_000);
		expect(result).toEqual({code: 0, stdout: `${manifest.version}\n`, stderr: ''});
	});

	it('`modeldeck agent --help` prints the agent usage', async () => {
		const result = await run(bin, ['agent', '--help'], directory, 30_000);
		expect(result.stderr).toBe('');
		expect(result.stdout).toMatch(/^Usage: modeldeck agent /);
		expect(result.code).toBe(0);
	});

	it("the README's first command is `npx modeldeck --demo`, the one the next test runs", () => {
		const firstBlock = /```sh\n([^`]*)```/.exec(readFileSync(path.join(installed, 'README.md'), 'utf8'));
		expect(firstBlock?.[1]?.split('\n')[0]).toMatch(/^npx modeldeck --demo\s/);
	});

	it('`modeldeck --demo` draws its first frame in a pty and quits on q', async () => {
		const configDirectory = path.join(directory, 'config');
		mkdirSync(configDirectory, {recursive: true});
		terminal = PtyTerminal.spawn(bin, ['--demo'], {cwd: directory, env: {...env, MODELDECK_CONFIG_DIR: configDirectory}});
		const screen = await terminal.waitFor(/sentiment/, 30_000);
		expect(screen).toContain('DEMO');
		expect(screen).toContain('fraud-detector');
		terminal.press('q');
		expect(await terminal.exited).toBe(0);
	});
});
