/**
 * The release's manifests agree with its files: scripts/release-manifests.ts is run as the release workflow runs it,
 * on a directory laid out as the workflow lays it out (the npm tarball, the executables' archives made by
 * scripts/sea.ts's own archive step), and the Homebrew formula, the krew manifest and SHA256SUMS it writes are read
 * back and checked against those files: names, version, checksums (by `sha256sum -c` too), platforms, the archives'
 * `modeldeck` and LICENSE. Stand-in contents (a small executable script, not a 120 MB Node) keep it quick: the
 * manifests depend on names and bytes, not on what the bytes do; test/e2e/sea.test.ts runs the real executable.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {parse} from 'yaml';
import {archiveExecutable, archiveName} from '../../../scripts/sea.ts';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {name: string; version: string; license: string};
const version = manifest.version;
const directory = mkdtempSync(path.join(tmpdir(), 'modeldeck-release-'));
const targets = ['linux-x64', 'linux-arm64', 'darwin-arm64'];
const repository = 'example-org/modeldeck';

afterAll(() => rmSync(directory, {recursive: true, force: true}));

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A release directory as the workflow has it before the manifests: archives of TARGETS and the npm tarball. */
function releaseDirectory(
	name: string,
	archiveTargets: readonly string[],
	archiveVersion = version,
	tarball = `${manifest.name}-${version}.tgz`,
): string {
	const release = path.join(directory, name);
	mkdirSync(release, {recursive: true});
	for (const target of archiveTargets) {
		const executable = path.join(directory, `stand-in-${target}`);
		writeFileSync(executable, `#!/bin/sh\necho ${archiveVersion} ${target}\n`, {mode: 0o755});
		archiveExecutable(executable, target, archiveVersion, release);
	}

	if (tarball) writeFileSync(path.join(release, tarball), `npm tarball stand-in ${name}`);
	return release;
}

function generate(release: string, ...extra: string[]) {
	return spawnSync(process.execPath, ['scripts/release-manifests.ts', release, ...extra], {encoding: 'utf8'});
}

interface KrewPlatform {
	selector: {matchLabels: {os: string; arch: string}};
	uri: string;
	sha256: string;
	bin: string;
	files: Array<{from: string; to: string}>;
}

describe('scripts/release-manifests.ts on a release directory', () => {
	const release = releaseDirectory('good', targets);
	const run = generate(release, '--repository', repository);

	it('writes SHA256SUMS, the formula and the krew manifest', () => {
		expect(run.stderr).toBe('');
		expect(run.status).toBe(0);
		expect(readdirSync(release).sort()).toEqual(
			[
				...targets.map((target) => archiveName(version, target)),
				`${manifest.name}-${version}.tgz`,
				'SHA256SUMS',
				'modeldeck.rb',
				'modeldeck.yaml',
			].sort(),
		);
	});

	it('SHA256SUMS lists every release file with its checksum, as sha256sum -c reads it', () => {
		const sums = readFileSync(path.join(release, 'SHA256SUMS'), 'utf8').trim().split('\n');
		expect(sums.map((line) => line.split('  ')[1]).sort()).toEqual(
			[...targets.map((target) => archiveName(version, target)), `${manifest.name}-${version}.tgz`].sort(),
		);
		for (const line of sums) {
			const [sum, file] = line.split('  ');
			expect(sum).toBe(sha256(path.join(release, file!)));
		}

		expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], {cwd: release, encoding: 'utf8'})).toMatch(/: OK\n$/);
	});

	it("the Homebrew formula installs this version's npm tarball, with its checksum, the way Homebrew's Node guidelines say", () => {
		const formula = readFileSync(path.join(release, 'modeldeck.rb'), 'utf8');
		expect(formula).toMatch(/^class Modeldeck < Formula$/m);
		expect(formula).toContain(`  url "https://registry.npmjs.org/${manifest.name}/-/${manifest.name}-${version}.tgz"\n`);
		expect(formula).toContain(`  sha256 "${sha256(path.join(release, `${manifest.name}-${version}.tgz`))}"\n`);
		expect(formula).toContain(`  license "${manifest.license}"\n`);
		expect(formula).toContain(`  homepage "https://github.com/${repository}"\n`);
		expect(formula).toContain('  depends_on "node"\n');
		expect(formula).toContain('    system "npm", "install", *std_npm_args\n');
		expect(formula).toContain('    bin.install_symlink libexec.glob("bin/*")\n');
		// Homebrew's audit: a description under 80 characters, without a leading article or a full stop.
		const desc = /^ {2}desc "([^"]*)"$/m.exec(formula)?.[1] ?? '';
		expect(desc.length).toBeGreaterThan(0);
		expect(desc.length).toBeLessThan(80);
		expect(desc).not.toMatch(/^(a|an|the) |\.$/i);
		// The formula's own test runs the bin that the package's manifest names.
		const packageBin = (JSON.parse(readFileSync('package.json', 'utf8')) as {bin: Record<string, string>}).bin;
		expect(Object.keys(packageBin)).toEqual(['modeldeck']);
		expect(formula).toContain('shell_output("#{bin}/modeldeck --version")');
	});

	it('the krew manifest has one platform per archive: its release URL, its checksum, and the `modeldeck` it holds', () => {
		const krew = parse(readFileSync(path.join(release, 'modeldeck.yaml'), 'utf8')) as {
			apiVersion: string;
			kind: string;
			metadata: {name: string};
			spec: {version: string; homepage: string; shortDescription: string; platforms: KrewPlatform[]};
		};
		expect(krew.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
		expect(krew.kind).toBe('Plugin');
		expect(krew.metadata.name).toBe('modeldeck');
		expect(krew.spec.version).toBe(`v${version}`);
		expect(krew.spec.platforms.map((platform) => platform.selector.matchLabels)).toEqual([
			{os: 'darwin', arch: 'arm64'},
			{os: 'linux', arch: 'arm64'},
			{os: 'linux', arch: 'amd64'},
		]);
		for (const platform of krew.spec.platforms) {
			const file = path.basename(platform.uri);
			expect(platform.uri).toBe(`https://github.com/${repository}/releases/download/v${version}/${file}`);
			expect(platform.sha256).toBe(sha256(path.join(release, file)));
			const target = `${platform.selector.matchLabels.os}-${platform.selector.matchLabels.arch === 'amd64' ? 'x64' : 'arm64'}`;
			expect(file).toBe(archiveName(version, target));
			// What krew extracts: bin and every `from` are in the archive, and the bin is the executable for that target.
			const listing = execFileSync('tar', ['-tvzf', path.join(release, file)], {encoding: 'utf8'});
			expect(listing).toMatch(new RegExp(`^-rwx.* ${platform.bin}$`, 'm'));
			for (const {from} of platform.files) expect(listing).toMatch(new RegExp(` ${from}$`, 'm'));
			expect(execFileSync('tar', ['-xzOf', path.join(release, file), platform.bin], {encoding: 'utf8'})).toBe(
				`#!/bin/sh\necho ${version} ${target}\n`,
			);
		}
	});
});

describe('the release workflow and the script agree', () => {
	const workflow = parse(readFileSync('.github/workflows/release.yml', 'utf8')) as {
		on: {push: {tags: string[]}};
		jobs: {
			executables: {strategy: {matrix: {include: Array<{target: string}>}}; steps: Array<{run?: string}>};
			release: {steps: Array<{run?: string}>};
		};
	};

	it('runs on v* tags, builds an archive for each target the manifests know, and attaches what the script writes', () => {
		expect(workflow.on.push.tags).toEqual(['v*']);
		expect(workflow.jobs.executables.strategy.matrix.include.map((entry) => entry.target).sort()).toEqual([...targets].sort());
		const builds = workflow.jobs.executables.steps.map((step) => step.run ?? '').join('\n');
		expect(builds).toContain('npm run sea -- --targets ${{ matrix.target }} --archive');
		const release = workflow.jobs.release.steps.map((step) => step.run ?? '').join('\n');
		expect(release).toContain('npm pack --pack-destination release');
		expect(release).toContain('node scripts/release-manifests.ts release --repository "$GITHUB_REPOSITORY"');
		expect(release).toContain('sha256sum -c SHA256SUMS');
		expect(release).toContain('gh release create "$GITHUB_REF_NAME" release/*');
		expect(release).toContain('npm publish release/modeldeck-*.tgz');
	});
});

describe('refusals', () => {
	it('an archive of another version, a missing npm tarball, no archives or no --repository: exit non-zero, saying what to do', () => {
		const stale = releaseDirectory('stale', ['linux-x64', 'linux-arm64']);
		archiveExecutable(path.join(directory, 'stand-in-linux-x64'), 'linux-x64', '0.0.1', stale);
		let result = generate(stale, '--repository', repository);
		expect(result.status).toBe(1);
		expect(result.stderr).toBe(
			`${archiveName('0.0.1', 'linux-x64')} is for version 0.0.1, but package.json says ${version}: build the release from the tag's commit.\n`,
		);

		result = generate(releaseDirectory('no-tarball', ['linux-x64'], version, ''), '--repository', repository);
		expect(result.status).toBe(1);
		expect(result.stderr).toContain(`No ${manifest.name}-${version}.tgz in`);

		result = generate(releaseDirectory('no-archives', []), '--repository', repository);
		expect(result.status).toBe(1);
		expect(result.stderr).toContain('run npm run sea -- --archive first');

		result = generate(releaseDirectory('no-repository', ['linux-x64']));
		expect(result.status).toBe(2);
		expect(result.stderr).toBe('Usage: node scripts/release-manifests.ts DIR --repository OWNER/NAME\n');
		result = generate(releaseDirectory('bad-repository', ['linux-x64']), '--repository', 'not a repo');
		expect(result.status).toBe(1);
		expect(result.stderr).toContain('--repository OWNER/NAME is needed');
	});
});
