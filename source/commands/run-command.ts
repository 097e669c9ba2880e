/**
 * `modeldeck status|weight|promote|rollback`: the console's own sources and actions, for scripts and runbooks.
 * Exit codes scripts can rely on: 0 done, 1 refused or failed (with a message on stderr), 2 usage error.
 */
import {ConflictError} from '../domain/ports.ts';
import {type CommandName, parseCommandArgs, usage} from './command-args.ts';
import {Deadline} from './deadline.ts';
import type {CommandIo, CommandOptions} from './command-options.ts';
import {UsageRefusal} from './refusals.ts';
import {connect} from './connect.ts';
import {status} from './status-command.ts';
import {act} from './change-command.ts';

export type {CommandIo, CommandOptions, DemoConnector} from './command-options.ts';
export {firstModels} from './models.ts';

const processIo: CommandIo = {stdout: process.stdout, stderr: process.stderr, stdin: process.stdin};

export async function runCommand(
	name: CommandName,
	argv: string[],
	io: CommandIo = processIo,
	options: CommandOptions = {},
): Promise<number> {
	const parsed = parseCommandArgs(name, argv);
	if ('usageError' in parsed) {
		io.stderr.write(`modeldeck ${name}: ${parsed.usageError}\n\n${usage(name)}`);
		return 2;
	}

	const {args} = parsed;
	if (args.help) {
		io.stdout.write(usage(name));
		return 0;
	}

	if (name !== 'status' && (args.readOnly || options.readOnly)) {
		const why = args.readOnly ? '--read-only' : (options.readOnlyReason ?? 'read-only');
		io.stderr.write(`modeldeck ${name}: refused: read-only (${why}); ${name} changes the cluster\n`);
		return 1;
	}

	let cleanup: (() => void) | undefined;
	const deadline = new Deadline(args.timeoutSeconds);
	try {
		const connecting = connect(args, options);
		const connection = {
			...(await deadline
				.race(connecting, `could not connect within ${args.timeoutSeconds} s (--timeout SECONDS waits longer)`)
				.catch((error: unknown) => {
					// A connection that arrives after the deadline is closed when it does.
					void connecting.then(
						(late) => late.cleanup?.(),
						() => undefined,
					);
					throw error;
				})),
			deadline,
		};
		cleanup = connection.cleanup;
		if (name === 'status') return await status(args, connection, io, options);
		const context = connection.cluster.currentContext();
		if (options.readOnlyContexts?.includes(context)) {
			io.stderr.write(`modeldeck ${name}: refused: context ${context} is read-only in settings (${name} changes the cluster)\n`);
			return 1;
		}

		return await act(args, connection, io, options);
	} catch (error) {
		if (error instanceof UsageRefusal) {
			io.stderr.write(`modeldeck ${name}: ${error.message}\n`);
			return 2;
		}

		const message = error instanceof Error ? error.message : String(error);
		io.stderr.write(`modeldeck ${name}: ${error instanceof ConflictError ? `conflict: ${message}` : message}\n`);
		return 1;
	} finally {
		cleanup?.();
	}
}
