/**
 * `modeldeck runbook check|run|play FILE`. check validates (exit 0, or 2 with one line per error: FILE:LINE:COLUMN);
 * run carries the steps out on a console nobody sees, against the demo the runbook names, and reports each step
 * (exit 0 all passed, 1 a step failed, 2 bad input); play is the live console with a narration panel (cli.tsx starts
 * it with the console's own flags, so whatever the console takes, play takes).
 */
import {readFile, writeFile} from 'node:fs/promises';
import {type ConsoleSetup, createConsole} from '../app.tsx';
import {type FlagDef, flagReader, parseFlags} from '../flags/parse.ts';
import {createDemoSources} from '../demo/index.ts';
import {defaultDetectors} from '../domain/detectors.ts';
import {MannWhitneyJudge} from '../domain/judge.ts';
import {parseRunbook} from '../domain/runbook/parse-runbook.ts';
import type {Runbook} from '../domain/runbook/types.ts';
import {noColorTheme} from '../ui/theme.ts';
import {junitXml, stepLines, summaryLine} from './report.ts';
import {consoleReady, runHeadless} from './run-headless.ts';
import {runbookVocabulary} from './vocabulary.ts';

export interface RunbookIo {
	stdout: {write(chunk: string): unknown};
	stderr: {write(chunk: string): unknown};
}

export const RUNBOOK_USAGE = `Usage
  $ modeldeck runbook check FILE...          validate runbooks; errors name the line (exit 2 when any is invalid)
  $ modeldeck runbook run FILE [--junit OUT]  run the steps headless against the demo; report each step
                                              (exit 0 all passed, 1 a step failed, 2 bad input)
  $ modeldeck runbook play FILE [flags]       the live console with a narration panel
                                              (ctrl+n next, ctrl+p back, ctrl+x quit; the console's flags apply)

The format: docs/runbooks.md. Shipped runbooks: runbooks/.
`;

/** A runbook read and validated, or the exit code and what was said about it. */
export async function loadRunbook(file: string, io: RunbookIo): Promise<{runbook: Runbook} | {code: number}> {
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
		io.stderr.write(`modeldeck runbook: cannot read ${file}: ${reason}. Give the path of a runbook, e.g. runbooks/tour.yaml\n`);
		return {code: 2};
	}

	const parsed = parseRunbook(text, runbookVocabulary());
	if (!parsed.runbook) {
		for (const error of parsed.errors) io.stderr.write(`${file}:${error.line}:${error.column}: ${error.message}\n`);
		io.stderr.write(`${file}: ${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'}; the format is in docs/runbooks.md\n`);
		return {code: 2};
	}

	return {runbook: parsed.runbook};
}

export async function runRunbookCommand(argv: string[], io: RunbookIo): Promise<number> {
	const [verb, ...rest] = argv;
	if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
		(verb === undefined ? io.stderr : io.stdout).write(RUNBOOK_USAGE);
		return verb === undefined ? 2 : 0;
	}

	if (verb === 'check') return check(rest, io);
	if (verb === 'run') return run(rest, io);
	io.stderr.write(`modeldeck runbook: unknown command "${verb}": use check, run or play\n\n${RUNBOOK_USAGE}`);
	return 2;
}

async function check(files: string[], io: RunbookIo): Promise<number> {
	const unknown = files.find((file) => file.startsWith('-'));
	if (files.length === 0 || unknown) {
		io.stderr.write(`modeldeck runbook check: ${unknown ? `unknown flag ${unknown}` : 'name a runbook file'}\n\n${RUNBOOK_USAGE}`);
		return 2;
	}

	let code = 0;
	for (const file of files) {
		const loaded = await loadRunbook(file, io);
		if ('code' in loaded) code = loaded.code;
		else io.stdout.write(`${file}: ok, ${loaded.runbook.steps.length} steps (${loaded.runbook.title})\n`);
	}

	return code;
}

interface RunArgs {
	file: string;
	junit?: string;
}

/** The flags of `runbook run` without a cluster: the parser (flags/parse.ts) takes them from this table. */
export const runbookRunFlags: readonly FlagDef[] = [
	{name: 'junit', value: 'FILE', help: ['also write a JUnit XML report there']},
	{name: 'demo', help: ['run on the demo the runbook names (the default without cluster flags)']},
];

export function parseRunArgs(argv: readonly string[]): RunArgs | {error: string} {
	const parsed = parseFlags(
		argv,
		runbookRunFlags,
		"runbook run takes --junit FILE, and the console's flags to run on a cluster (--kubeconfig, --context, --prometheus, --agent, -n); without them it runs on the demo.",
	);
	if ('errors' in parsed) {
		return {
			error: parsed.errors
				.map((error) => (error.startsWith('--junit needs a value') ? '--junit needs a file name, e.g. --junit report.xml' : error))
				.join('\n'),
		};
	}

	const [file, ...more] = parsed.positionals;
	if (file === undefined) return {error: 'name a runbook file, e.g. modeldeck runbook run runbooks/tour.yaml'};
	if (more.length > 0) return {error: `one runbook at a time: ${file} and ${more[0]}`};
	const junit = flagReader(parsed).text('junit');
	return {file, ...(junit ? {junit} : {})};
}

async function run(argv: string[], io: RunbookIo): Promise<number> {
	const args = parseRunArgs(argv);
	if ('error' in args) {
		io.stderr.write(`modeldeck runbook run: ${args.error}\n\n${RUNBOOK_USAGE}`);
		return 2;
	}

	const loaded = await loadRunbook(args.file, io);
	if ('code' in loaded) return loaded.code;
	const {runbook} = loaded;
	const code = await runOnDemo(runbook, args.file, io, args.junit);
	return code;
}

/** The steps on a console over the demo the runbook names; the report as they go. */
export async function runOnDemo(runbook: Runbook, file: string, io: RunbookIo, junitFile?: string): Promise<number> {
	const sources = createDemoSources({
		...(runbook.demo.scenario ? {scenario: runbook.demo.scenario as never} : {}),
		...(runbook.demo.atMs !== undefined ? {atMs: runbook.demo.atMs} : {}),
		...(runbook.demo.seed !== undefined ? {seed: runbook.demo.seed} : {}),
	});
	try {
		// The console as `modeldeck --demo` starts it without a settings file (a user's settings would change the flags).
		return await runOnConsole(
			runbook,
			{file, where: `demo ${runbook.demo.scenario ?? 'tour'}`, ...(junitFile ? {junitFile} : {})},
			{
				sources,
				readOnly: false,
				namespace: undefined,
				refreshSeconds: 1,
				weightStep: 10,
				thresholds: {},
				keyOverrides: {},
				detectors: defaultDetectors(),
				judge: new MannWhitneyJudge(),
			},
			io,
		);
	} finally {
		sources.stop();
	}
}

/**
 * The steps on a console over any sources (the demo's, or a cluster's as cli.tsx makes them for the console), nobody
 * watching; the report as they go. Exit 0 every step passed, 1 one failed, 2 the JUnit file could not be written.
 */
export async function runOnConsole(
	runbook: Runbook,
	run: {file: string; where: string; junitFile?: string},
	setup: Omit<ConsoleSetup, 'theme'>,
	io: RunbookIo,
): Promise<number> {
	const handle = createConsole({...setup, theme: noColorTheme, keyOverrides: {}});
	const driver = {...handle, keymap: handle.controller.keymap};
	const started = performance.now();
	handle.controller.start();
	try {
		io.stdout.write(`${runbook.title} (${run.file}, ${run.where})\n`);
		await consoleReady(driver, 15_000);
		const results = await runHeadless(runbook, driver, {
			onStep: (result) => io.stdout.write(`${stepLines(result).join('\n')}\n`),
		});
		const totalMs = performance.now() - started;
		io.stdout.write(`${summaryLine(results, totalMs)}\n`);
		if (run.junitFile) {
			try {
				await writeFile(run.junitFile, junitXml(runbook, run.file, results, totalMs));
			} catch (error) {
				io.stderr.write(`modeldeck runbook run: cannot write ${run.junitFile}: ${(error as Error).message}\n`);
				return 2;
			}
		}

		return results.some((result) => result.status === 'failed') ? 1 : 0;
	} finally {
		handle.controller.stop();
	}
}
