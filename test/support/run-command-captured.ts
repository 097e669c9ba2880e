/** A CLI command run in this process, as a script runs it, with what it writes collected instead of printed. */
import {PassThrough} from 'node:stream';
import {runCommand} from '../../source/commands/run-command.ts';

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
	const code = await runCommand(name, argv, io, options);
	return {code, stdout, stderr};
}
