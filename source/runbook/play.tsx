/**
 * `modeldeck runbook play FILE [console flags]`: the runbook is read and checked, then the console starts as
 * `modeldeck [flags]` would (cli.tsx runs it, so every console flag applies, a recording too) with the narration panel
 * as its root. Without flags that name a cluster, it plays on the demo the runbook names.
 */
import type {ConsoleSetup} from '../app.tsx';
import type {Runbook} from '../domain/runbook/types.ts';
import {PlaySession} from './play-session.ts';
import {Player} from './Player.tsx';

function hasFlag(argv: readonly string[], name: string): boolean {
	return argv.some((word) => word === name || word.startsWith(`${name}=`));
}

/** Flags that point the console at a cluster: with one of them (and no --demo), a runbook is not played on its demo. */
export const CLUSTER_FLAGS = ['--kubeconfig', '--context', '--prometheus', '--agent'];

export function namesCluster(flags: readonly string[]): boolean {
	return CLUSTER_FLAGS.some((flag) => hasFlag(flags, flag)) && !hasFlag(flags, '--demo');
}

/** The console's flags for a runbook: the demo and its scenario and start from the runbook unless flags say otherwise. */
export function playConsoleArgv(runbook: Runbook, flags: readonly string[]): string[] {
	const argv = [...flags];
	if (namesCluster(flags)) return argv;
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
