/** A CLI command run in this process, as a script runs it, with what it writes collected instead of printed. */
import {PassThrough} from 'node:stream';
import {runCommand} from '../../source/commands/run-command.ts';
import {demoForCommands} from '../../source/demo/for-commands.ts';

export async function runCommandCaptured(
	name: Parameters<typeof runCommand>[0],
	argv: string[],
	options?: Parameters<typeof runCommand>[3],
): Promise<{code: number; stdout: string; stderr: string}> {
	let stdout = '';
	let stderr = '';
	const io = {
		stdout: {write: (chunk: string) => (stdout += chunk)},
		stderr: {write: (chunk: string) => (stderr += chunk)},
		stdin: new PassThrough(),
	};
	// As the composition root does: the demo is given to the commands, which do not import it.
	const code = await runCommand(name, argv, io, {demo: demoForCommands, ...options});
	return {code, stdout, stderr};
}
