/**
 * What cli.tsx asks before it starts the console: is this `runbook play` (the console, its flags, with the narration
 * panel as root) or `runbook run` on a cluster (the console's start-up with its flags, then the steps headless)?
 * `runbook run` on the demo and `runbook check` are plain subcommands (main.ts).
 */
import type {ConsoleSetup} from '../app.tsx';
import {loadRunbook, parseRunArgs, RUNBOOK_USAGE, type RunbookIo, runOnConsole} from './main.ts';
import {namesCluster, playConsoleArgv, playRoot} from './play.tsx';

export interface RunbookConsole {
	/** The console's own flags. */
	argv: string[];
	root?: NonNullable<ConsoleSetup['root']>;
	/** Instead of drawing the console: run the steps on it and return the exit code. */
	headless?: (setup: Omit<ConsoleSetup, 'theme'>) => Promise<number>;
}

/** `argv` is from `play` or `run` on. */
export async function startRunbook(
	argv: readonly string[],
	io: RunbookIo,
): Promise<{code: number} | {console: RunbookConsole} | {subcommand: true}> {
	const [verb, ...rest] = argv;
	if (verb === 'run') {
		// Without flags that name a cluster, `run` is the subcommand on the runbook's demo.
		const junitAt = rest.findIndex((word) => word === '--junit' || word.startsWith('--junit='));
		const junitWords = junitAt < 0 ? [] : rest[junitAt]!.includes('=') ? [rest[junitAt]!] : rest.slice(junitAt, junitAt + 2);
		const flags = rest.filter((_, index) => index < junitAt || index >= junitAt + junitWords.length || junitAt < 0);
		if (!namesCluster(flags)) return {subcommand: true};
		const [file, ...consoleFlags] = flags;
		const args = parseRunArgs([...(file ? [file] : []), ...junitWords]);
		if ('error' in args || file?.startsWith('-')) {
			io.stderr.write(`modeldeck runbook run: ${'error' in args ? args.error : 'name a runbook file first'}\n\n${RUNBOOK_USAGE}`);
			return {code: 2};
		}

		const loaded = await loadRunbook(args.file, io);
		if ('code' in loaded) return loaded;
		return {
			console: {
				argv: consoleFlags,
				headless: (setup) =>
					runOnConsole(
						loaded.runbook,
						{file: args.file, where: `context ${setup.sources.cluster.currentContext()}`, ...(args.junit ? {junitFile: args.junit} : {})},
						setup,
						io,
					),
			},
		};
	}

	const [file, ...flags] = rest;
	if (file === undefined || file.startsWith('-')) {
		if (file === '--help' || file === '-h') {
			io.stdout.write(RUNBOOK_USAGE);
			return {code: 0};
		}

		io.stderr.write(
			`modeldeck runbook play: name a runbook file first, e.g. modeldeck runbook play runbooks/tour.yaml\n\n${RUNBOOK_USAGE}`,
		);
		return {code: 2};
	}

	const loaded = await loadRunbook(file, io);
	if ('code' in loaded) return loaded;
	return {console: {argv: playConsoleArgv(loaded.runbook, flags), root: playRoot(loaded.runbook)}};
}
