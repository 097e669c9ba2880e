/**
 * `modeldeck runbook play FILE [console flags]`: the runbook is read and checked, then the console starts as
 * `modeldeck [flags]` would (cli.tsx runs it, so every console flag applies, a recording too) with the narration panel
 * as its root. Without flags that name a cluster, it plays on the demo the runbook names.
 */
import type {ConsoleSetup} from '../app.tsx';
import type {Runbook} from '../domain/runbook/types.ts';
import {loadRunbook, RUNBOOK_USAGE, type RunbookIo} from './main.ts';
import {PlaySession} from './play-session.ts';
import {Player} from './Player.tsx';

/** Flags that point the console at a real cluster: with one of them, the runbook's demo is not used. */
const clusterFlags = ['--kubeconfig', '--context', '--prometheus', '--agent'];

function hasFlag(argv: readonly string[], name: string): boolean {
	return argv.some((word) => word === name || word.startsWith(`${name}=`));
}

/** The console's flags for a runbook: the demo and its scenario and start from the runbook unless flags say otherwise. */
export function playConsoleArgv(runbook: Runbook, flags: readonly string[]): string[] {
	const argv = [...flags];
	const real = clusterFlags.some((flag) => hasFlag(flags, flag)) && !hasFlag(flags, '--demo');
	if (real) return argv;
	if (!hasFlag(argv, '--demo')) argv.push('--demo');
	if (runbook.demo.scenario && !hasFlag(argv, '--scenario')) argv.push('--scenario', runbook.demo.scenario);
	if (runbook.demo.atMs !== undefined && runbook.demo.atMs > 0 && !hasFlag(argv, '--at'))
		argv.push('--at', `${Math.round(runbook.demo.atMs / 1000)}s`);
	return argv;
}

/** The narration panel as the console's root: the session starts with the console and ends with it. */
export function playRoot(runbook: Runbook, options: {keyPauseMs?: number} = {}): NonNullable<ConsoleSetup['root']> {
	return ({store, controller, size}) => {
		const session = new PlaySession(runbook, {store, controller, keymap: controller.keymap}, options);
		return <Player session={session} {...(size ? {width: size.width, height: size.height} : {})} />;
	};
}

export async function preparePlay(
	argv: readonly string[],
	io: RunbookIo,
): Promise<{consoleArgv: string[]; root: NonNullable<ConsoleSetup['root']>} | {code: number}> {
	const [file, ...flags] = argv;
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
	return {consoleArgv: playConsoleArgv(loaded.runbook, flags), root: playRoot(loaded.runbook)};
}
