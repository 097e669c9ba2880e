/**
 * Assembles the file layout of the container image that deploy/Dockerfile builds, without a Docker engine: reads the
 * Dockerfile, simulates the stages the final stage COPYs from, and copies into a directory exactly the files the
 * final stage's COPY lines copy, where they would be in the image. Tests then start the image's ENTRYPOINT + CMD from
 * that directory, the way the image starts.
 *
 *     node scripts/image-layout.ts [--out DIR] [--dockerfile deploy/Dockerfile]
 *
 * What is simulated and what is not:
 * - COPY from the build context honours the Dockerfile's `.dockerignore` (BuildKit's `<Dockerfile>.dockerignore`, else
 *   the context's `.dockerignore`); COPY --from=stage copies from that stage's simulated filesystem.
 * - RUN commands run on this machine in the stage's working directory, with this Node on PATH — except `npm ci` /
 *   `npm install`, for which this repository's installed node_modules (from the same lockfile) is linked in, and
 *   `npm prune`, which is skipped (it would prune the linked node_modules; the runtime stage copies none anyway).
 * - The base image is stood in for by its Node binary only (distroless nodejs: /nodejs/bin/node; node: images:
 *   /usr/local/bin/node), linked from this Node, which must be the same major version.
 * - ARG substitution, shell-form ENTRYPOINT/CMD, wildcards in COPY sources and ADD are refused with a message.
 */
import {spawnSync} from 'node:child_process';
import {
	chmodSync,
	cpSync,
	existsSync,
	linkSync,
	copyFileSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	realpathSync,
	rmSync,
	statSync,
	symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class ImageLayoutError extends Error {}

export interface DockerInstruction {
	keyword: string;
	value: string;
	/** 1-based line of the instruction's start in the Dockerfile. */
	line: number;
}

export interface DockerStage {
	index: number;
	base: string;
	name?: string;
	instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): DockerStage[] {
	const stages: DockerStage[] = [];
	const lines = text.split(/\r?\n/);
	let pending: {text: string; line: number} | undefined;
	const finish = (logical: string, line: number) => {
		const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(logical);
		if (!match) return;
		const keyword = match[1]!.toUpperCase();
		const value = match[2]!.trim();
		if (keyword === 'FROM') {
			const words = value.split(/\s+/).filter((word) => !word.startsWith('--platform='));
			const [base, as, name] = words;
			if (!base) throw new ImageLayoutError(`line ${line}: FROM without an image`);
			const stage: DockerStage = {index: stages.length, base, instructions: []};
			if (as?.toUpperCase() === 'AS' && name) stage.name = name;
			stages.push(stage);
			return;
		}

		const stage = stages.at(-1);
		if (!stage) {
			if (keyword === 'ARG') throw new ImageLayoutError(`line ${line}: ARG before FROM is not supported by image-layout`);
			throw new ImageLayoutError(`line ${line}: ${keyword} before any FROM`);
		}

		stage.instructions.push({keyword, value, line});
	};

	lines.forEach((raw, index) => {
		const trimmed = raw.trim();
		if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return;
		const continues = /\\\s*$/.test(raw);
		const content = continues ? raw.replace(/\\\s*$/, '') : raw;
		if (pending) pending.text += ` ${content.trim()}`;
		else pending = {text: content, line: index + 1};
		if (!continues) {
			finish(pending.text, pending.line);
			pending = undefined;
		}
	});
	if (pending) finish(pending.text, pending.line);
	if (stages.length === 0) throw new ImageLayoutError('the Dockerfile has no FROM');
	return stages;
}

export interface CopyInstruction {
	from?: string;
	chmod?: string;
	chown?: string;
	sources: string[];
	destination: string;
}

export function parseCopy(instruction: DockerInstruction): CopyInstruction {
	const where = `line ${instruction.line}`;
	let words: string[];
	const flags: string[] = [];
	let rest = instruction.value;
	for (;;) {
		const flag = /^(--[a-z-]+(?:=\S*)?)\s+/.exec(rest);
		if (!flag) break;
		flags.push(flag[1]!);
		rest = rest.slice(flag[0].length);
	}

	if (rest.startsWith('[')) {
		try {
			words = JSON.parse(rest) as string[];
		} catch {
			throw new ImageLayoutError(`${where}: COPY's JSON form is not valid JSON`);
		}
	} else {
		words = rest.split(/\s+/).filter(Boolean);
	}

	if (words.length < 2) throw new ImageLayoutError(`${where}: COPY needs a source and a destination`);
	const copy: CopyInstruction = {sources: words.slice(0, -1), destination: words.at(-1)!};
	for (const flag of flags) {
		const [name, value] = flag.split(/=(.*)/s) as [string, string | undefined];
		if (name === '--from' && value) copy.from = value;
		else if (name === '--chmod' && value) copy.chmod = value;
		else if (name === '--chown' && value) copy.chown = value;
		else if (name !== '--link') throw new ImageLayoutError(`${where}: COPY ${flag} is not supported by image-layout`);
	}

	for (const source of copy.sources) {
		if (/[*?[]/.test(source))
			throw new ImageLayoutError(`${where}: wildcards in COPY sources (${source}) are not supported by image-layout`);
	}

	return copy;
}

/** ENTRYPOINT and CMD in exec (JSON) form; distroless images have no shell for the shell form. */
function execForm(instruction: DockerInstruction): string[] {
	const value = instruction.value;
	if (!value.startsWith('['))
		throw new ImageLayoutError(
			`line ${instruction.line}: ${instruction.keyword} must use the exec form ["…"]: the runtime image has no shell`,
		);
	try {
		const parsed = JSON.parse(value) as unknown;
		if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
	} catch {
		// Said below.
	}

	throw new ImageLayoutError(`line ${instruction.line}: ${instruction.keyword} is not a JSON array of strings`);
}

function parseEnv(instruction: DockerInstruction): Record<string, string> {
	const value = instruction.value;
	const env: Record<string, string> = {};
	if (!value.includes('=')) {
		const [key, ...rest] = value.split(/\s+/);
		if (key) env[key] = rest.join(' ');
		return env;
	}

	for (const match of value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
		const raw = match[2]!;
		env[match[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
	}

	return env;
}

/**
 * `.dockerignore` semantics (moby/patternmatcher): the last pattern matching a path or one of its parent directories
 * decides; `!` re-includes; `*` and `?` stay within one path segment, `**` crosses segments.
 */
export function dockerignoreFilter(text: string): (relativePath: string) => boolean {
	const rules = text
		.split(/\r?\n/)
		.map((line) => line.trim())
		.filter((line) => line !== '' && !line.startsWith('#'))
		.map((line) => {
			const negate = line.startsWith('!');
			const pattern = path.posix
				.normalize((negate ? line.slice(1) : line).trim())
				.replace(/^\/+/, '')
				.replace(/\/+$/, '');
			let source = '';
			for (let index = 0; index < pattern.length; index++) {
				const character = pattern[index]!;
				if (character === '*' && pattern[index + 1] === '*') {
					source += '.*';
					index++;
					if (pattern[index + 1] === '/') index++;
				} else if (character === '*') source += '[^/]*';
				else if (character === '?') source += '[^/]';
				else source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
			}

			return {negate, regex: new RegExp(`^${source}$`)};
		});
	return (relativePath: string) => {
		const segments = relativePath.split(/[\\/]+/).filter(Boolean);
		const prefixes = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
		let included = true;
		for (const rule of rules) {
			if (prefixes.some((prefix) => rule.regex.test(prefix))) included = rule.negate;
		}

		return included;
	};
}

export interface ImageLayout {
	/** The image's root filesystem: `<root>/app/dist/cli.js` is `/app/dist/cli.js` in the image. */
	root: string;
	dockerfile: string;
	/** The final stage's base image. */
	base: string;
	workdir: string;
	user?: string;
	env: Record<string, string>;
	entrypoint: string[];
	cmd: string[];
	/** Files the final stage's COPY lines put in the image, as image paths, sorted. */
	files: string[];
	/** Image paths the stand-in base image provides (its Node binary). */
	baseFiles: string[];
	/** Where an image path is in the layout. */
	hostPath(imagePath: string): string;
	/** ENTRYPOINT + (args, or CMD), with the image's absolute paths turned into paths in the layout. */
	command(args?: string[]): {file: string; args: string[]};
	/** Removes the layout. */
	remove(): void;
}

export interface AssembleOptions {
	/** Default deploy/Dockerfile. */
	dockerfile?: string;
	/** Build context. Default the repository root. */
	context?: string;
	/** Directory to assemble into (must not exist or be empty). Default a new temporary directory. */
	out?: string;
	log?: (line: string) => void;
}

/** The Node major version a base image ships, when it is one of the images image-layout can stand in for. */
function baseNode(base: string): {major: number; binary: string} | undefined {
	const distroless = /^gcr\.io\/distroless\/nodejs(\d+)(?:-[a-z0-9]+)?(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/.exec(base);
	if (distroless) return {major: Number(distroless[1]), binary: '/nodejs/bin/node'};
	const official = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)[\w.-]*(?:@sha256:[0-9a-f]+)?$/.exec(base);
	if (official) return {major: Number(official[1]), binary: '/usr/local/bin/node'};
	return undefined;
}

function listFiles(directory: string, prefix = ''): string[] {
	const files: string[] = [];
	for (const entry of readdirSync(path.join(directory, prefix), {withFileTypes: true})) {
		const relative = path.posix.join(prefix, entry.name);
		if (entry.isDirectory()) files.push(...listFiles(directory, relative));
		else files.push(relative);
	}

	return files.sort();
}

/** Links (or, across file systems, copies) this Node into the layout as the base image's Node. */
function provideNode(root: string, imagePath: string): void {
	const target = path.join(root, imagePath);
	mkdirSync(path.dirname(target), {recursive: true});
	const source = realpathSync(process.execPath);
	try {
		linkSync(source, target);
	} catch {
		copyFileSync(source, target);
		chmodSync(target, 0o755);
	}
}

interface StageState {
	root: string;
	workdir: string;
	env: Record<string, string>;
}

export function assembleImageLayout(options: AssembleOptions = {}): ImageLayout {
	const log = options.log ?? (() => undefined);
	const dockerfile = path.resolve(options.dockerfile ?? path.join(repoRoot, 'deploy/Dockerfile'));
	const context = path.resolve(options.context ?? repoRoot);
	const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'));
	const ignoreFile = [`${dockerfile}.dockerignore`, path.join(context, '.dockerignore')].find((file) => existsSync(file));
	const included = dockerignoreFilter(ignoreFile ? readFileSync(ignoreFile, 'utf8') : '');

	const root = options.out ? path.resolve(options.out) : mkdtempSync(path.join(os.tmpdir(), 'modeldeck-image-'));
	if (existsSync(root) && readdirSync(root).length > 0)
		throw new ImageLayoutError(`${root} is not empty: give image-layout an empty or new directory`);
	mkdirSync(root, {recursive: true});
	// Readable by the image's non-root user, as an image's root is.
	chmodSync(root, 0o755);
	const scratch: string[] = [];
	const simulated = new Map<number, StageState>();

	const stageByReference = (reference: string, line: number): DockerStage => {
		const stage =
			stages.find((candidate) => candidate.name === reference) ?? (/^\d+$/.test(reference) ? stages[Number(reference)] : undefined);
		if (!stage)
			throw new ImageLayoutError(
				`line ${line}: COPY --from=${reference}: no such stage (external images are not supported by image-layout)`,
			);
		return stage;
	};

	const imagePath = (state: StageState, target: string) =>
		path.posix.isAbsolute(target) ? target : path.posix.join(state.workdir, target);

	const copy = (state: StageState, instruction: DockerInstruction): void => {
		const spec = parseCopy(instruction);
		const fromStage = spec.from === undefined ? undefined : simulate(stageByReference(spec.from, instruction.line));
		const destination = imagePath(state, spec.destination);
		const intoDirectory = spec.destination.endsWith('/') || spec.sources.length > 1;
		for (const source of spec.sources) {
			let hostSource: string;
			let filter: ((file: string) => boolean) | undefined;
			if (fromStage) {
				hostSource = path.join(fromStage.root, imagePath(fromStage, source));
			} else {
				const relative = path.posix.normalize(source).replace(/^\/+/, '').replace(/\/+$/, '');
				if (relative.startsWith('..')) throw new ImageLayoutError(`line ${instruction.line}: COPY ${source} is outside the build context`);
				hostSource = path.join(context, relative);
				if (relative !== '.' && !included(relative)) {
					throw new ImageLayoutError(
						`line ${instruction.line}: COPY ${source}: excluded from the build context by ${path.relative(context, ignoreFile ?? '.dockerignore')}`,
					);
				}

				filter = (file) => {
					const inside = path.relative(context, file);
					return inside === '' || included(inside);
				};
			}

			if (!existsSync(hostSource))
				throw new ImageLayoutError(
					`line ${instruction.line}: COPY ${source}: not found${fromStage ? ` in stage ${spec.from}` : ' in the build context'}`,
				);
			const isDirectory = statSync(hostSource).isDirectory();
			const target = path.join(
				state.root,
				isDirectory || !intoDirectory ? destination : path.posix.join(destination, path.basename(source)),
			);
			mkdirSync(isDirectory ? target : path.dirname(target), {recursive: true});
			// A directory's contents are copied, not the directory itself (Docker's COPY semantics).
			cpSync(hostSource, target, {recursive: true, verbatimSymlinks: true, ...(filter ? {filter} : {})});
			if (spec.chmod) {
				const mode = Number.parseInt(spec.chmod, 8);
				for (const file of isDirectory ? listFiles(target).map((relative) => path.join(target, relative)) : [target]) chmodSync(file, mode);
			}
		}

		log(`COPY ${instruction.value}`);
	};

	const run = (state: StageState, instruction: DockerInstruction): void => {
		const command = instruction.value;
		if (command.startsWith('[')) throw new ImageLayoutError(`line ${instruction.line}: RUN's exec form is not supported by image-layout`);
		const cwd = path.join(state.root, state.workdir);
		if (/^npm (ci|install)\b/.test(command)) {
			// Stand-in for the registry install: this checkout's node_modules, installed from the same package-lock.json.
			const installed = path.join(context, 'node_modules');
			if (!existsSync(installed))
				throw new ImageLayoutError(`${instruction.value}: no node_modules in ${context} to stand in for it; run npm ci first`);
			symlinkSync(installed, path.join(cwd, 'node_modules'), 'dir');
			log(`RUN ${command}  (linked ${installed})`);
			return;
		}

		if (/^npm prune\b/.test(command)) {
			log(`RUN ${command}  (skipped)`);
			return;
		}

		log(`RUN ${command}`);
		const result = spawnSync('sh', ['-c', command], {
			cwd,
			env: {...process.env, ...state.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`},
			encoding: 'utf8',
		});
		if (result.status !== 0) {
			throw new ImageLayoutError(
				`line ${instruction.line}: RUN ${command} failed (exit ${result.status ?? result.signal}):\n${`${result.stdout}${result.stderr}`.trim().slice(-2000)}`,
			);
		}
	};

	/** Runs a stage the final stage depends on, once, in a scratch directory. */
	const simulate = (stage: DockerStage): StageState => {
		const done = simulated.get(stage.index);
		if (done) return done;
		const stageRoot = mkdtempSync(path.join(os.tmpdir(), `modeldeck-stage-${stage.name ?? stage.index}-`));
		scratch.push(stageRoot);
		const node = baseNode(stage.base);
		if (node && node.major !== Number(process.versions.node.split('.')[0])) {
			log(`stage ${stage.name ?? stage.index}: ${stage.base} has Node ${node.major}; simulating with Node ${process.versions.node}`);
		}

		const state: StageState = {root: stageRoot, workdir: '/', env: {}};
		for (const instruction of stage.instructions) {
			switch (instruction.keyword) {
				case 'WORKDIR':
					state.workdir = imagePath(state, instruction.value);
					mkdirSync(path.join(stageRoot, state.workdir), {recursive: true});
					break;
				case 'COPY':
					copy(state, instruction);
					break;
				case 'RUN':
					run(state, instruction);
					break;
				case 'ENV':
					Object.assign(state.env, parseEnv(instruction));
					break;
				case 'USER':
				case 'EXPOSE':
				case 'LABEL':
				case 'ENTRYPOINT':
				case 'CMD':
					break;
				default:
					throw new ImageLayoutError(
						`line ${instruction.line}: ${instruction.keyword} in stage ${stage.name ?? stage.index} is not supported by image-layout`,
					);
			}
		}

		simulated.set(stage.index, state);
		return state;
	};

	try {
		const final = stages.at(-1)!;
		const node = baseNode(final.base);
		if (!node)
			throw new ImageLayoutError(
				`the runtime base ${final.base} is not a Node image image-layout can stand in for (distroless nodejs or node:)`,
			);
		const hostMajor = Number(process.versions.node.split('.')[0]);
		if (node.major !== hostMajor)
			throw new ImageLayoutError(
				`the runtime image ships Node ${node.major} but this is Node ${process.versions.node}: run image-layout with Node ${node.major}`,
			);

		const state: StageState = {root, workdir: '/', env: {}};
		let user: string | undefined;
		let entrypoint: string[] = [];
		let cmd: string[] = [];
		for (const instruction of final.instructions) {
			switch (instruction.keyword) {
				case 'WORKDIR':
					state.workdir = imagePath(state, instruction.value);
					mkdirSync(path.join(root, state.workdir), {recursive: true});
					break;
				case 'COPY':
					copy(state, instruction);
					break;
				case 'ENV':
					Object.assign(state.env, parseEnv(instruction));
					break;
				case 'USER':
					user = instruction.value;
					break;
				case 'ENTRYPOINT':
					entrypoint = execForm(instruction);
					// Docker resets CMD when ENTRYPOINT is set after it.
					cmd = [];
					break;
				case 'CMD':
					cmd = execForm(instruction);
					break;
				case 'EXPOSE':
				case 'LABEL':
					break;
				default:
					throw new ImageLayoutError(
						`line ${instruction.line}: ${instruction.keyword} in the runtime stage: keep it to WORKDIR, COPY, ENV, USER, EXPOSE, LABEL, ENTRYPOINT and CMD`,
					);
			}
		}

		const files = listFiles(root).map((file) => `/${file}`);
		provideNode(root, node.binary);
		if (entrypoint.length === 0 && cmd.length === 0) throw new ImageLayoutError('the runtime stage has neither ENTRYPOINT nor CMD');
		const hostPath = (image: string) => path.join(root, image);
		const layout: ImageLayout = {
			root,
			dockerfile,
			base: final.base,
			workdir: state.workdir,
			env: state.env,
			entrypoint,
			cmd,
			files,
			baseFiles: [node.binary],
			hostPath,
			command(args) {
				const full = [...entrypoint, ...(args ?? cmd)];
				const mapped = full.map((word) => (word.startsWith('/') && existsSync(hostPath(word)) ? hostPath(word) : word));
				const [file, ...rest] = mapped;
				if (!file) throw new ImageLayoutError('nothing to run: empty ENTRYPOINT and CMD');
				return {file, args: rest};
			},
			remove() {
				rmSync(root, {recursive: true, force: true});
			},
		};
		if (user !== undefined) layout.user = user;
		return layout;
	} catch (error) {
		if (!options.out) rmSync(root, {recursive: true, force: true});
		throw error;
	} finally {
		for (const directory of scratch) rmSync(directory, {recursive: true, force: true});
	}
}

if (import.meta.main) {
	const args = process.argv.slice(2);
	const value = (flag: string) => {
		const index = args.indexOf(flag);
		return index === -1 ? undefined : args[index + 1];
	};

	if (args.includes('--help') || args.includes('-h')) {
		process.stdout.write('usage: node scripts/image-layout.ts [--out DIR] [--dockerfile deploy/Dockerfile]\n');
		process.exit(0);
	}

	try {
		const started = performance.now();
		const layout = assembleImageLayout({
			...(value('--out') ? {out: value('--out')!} : {}),
			...(value('--dockerfile') ? {dockerfile: value('--dockerfile')!} : {}),
			log: (line) => process.stderr.write(`${line}\n`),
		});
		const {file, args: commandArgs} = layout.command();
		process.stdout.write(
			[
				`image layout of ${path.relative(process.cwd(), layout.dockerfile)} in ${layout.root} (${Math.round(performance.now() - started)} ms)`,
				`base ${layout.base} (stand-in: ${layout.baseFiles.join(', ')}), user ${layout.user ?? 'root'}, workdir ${layout.workdir}`,
				`${layout.files.length} files copied: ${[...new Set(layout.files.map((file) => file.split('/').slice(0, 3).join('/')))].join(', ')}`,
				`start it as the image does:  cd ${layout.hostPath(layout.workdir)} && ${[file, ...commandArgs].join(' ')}`,
				'',
			].join('\n'),
		);
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n`);
		process.exit(1);
	}
}
