/**
 * `modeldeck completion SHELL` prints the shell's completion script; `modeldeck __complete contexts|models -- WORDS…`
 * answers the scripts' questions, one name a line: the kubeconfig's contexts (the demo's with --demo), and the models
 * of `status --json` on the context the typed words point at, given up after a short timeout so that a TAB never
 * hangs. A completion that finds nothing prints nothing and exits 0: the shell then offers nothing, as for any word.
 */
import {homedir} from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {readKubeconfigContexts} from '../adapters/kube/kubeconfig-contexts.ts';
import {completionScript} from './completion-scripts.ts';
import {
	completionShells,
	completionSpec,
	modelNames,
	statusArguments,
	typedContext,
	type CompletionInputs,
	type CompletionShell,
} from './completion.ts';
import type {CommandIo, DemoConnector} from './command-options.ts';
import {runCommand} from './run-command.ts';

/** How long `__complete models` waits for the cluster: a TAB that takes longer is worse than no answer. */
export const modelTimeoutSeconds = 2;

export const completionUsage = `Usage: modeldeck completion ${completionShells.join('|')}

Prints the shell completion script. Load it in this shell:
  bash   source <(modeldeck completion bash)
  zsh    source <(modeldeck completion zsh)        (after compinit)
  fish   modeldeck completion fish | source
`;

/** `modeldeck completion SHELL`. */
export function runCompletion(argv: readonly string[], inputs: CompletionInputs, io: Pick<CommandIo, 'stdout' | 'stderr'>): number {
	const [shell, ...rest] = argv;
	if (shell === '--help' || shell === '-h') {
		io.stdout.write(completionUsage);
		return 0;
	}

	if (shell === undefined || !(completionShells as readonly string[]).includes(shell)) {
		const got = shell === undefined ? 'no shell' : `"${shell.slice(0, 40)}"`;
		io.stderr.write(
			`modeldeck completion needs a shell: ${completionShells.join(', ')} (got ${got}), e.g. source <(modeldeck completion bash)\n`,
		);
		return 2;
	}

	if (rest.length > 0) {
		io.stderr.write(`modeldeck completion takes one shell, not "${rest.join(' ').slice(0, 40)}": modeldeck completion ${shell}\n`);
		return 2;
	}

	io.stdout.write(completionScript(shell as CompletionShell, completionSpec(inputs)));
	return 0;
}

export interface CompleteDeps {
	/** The demo's contexts, for `__complete contexts` after --demo. */
	demoContexts: readonly string[];
	/** The demo itself, for `__complete models` after --demo (given by the composition root, as to the commands). */
	demo?: DemoConnector;
	env?: NodeJS.ProcessEnv;
}

/** `modeldeck __complete contexts|models -- WORDS…`. Never throws: what fails completes to nothing. */
export async function runComplete(argv: readonly string[], deps: CompleteDeps, io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
	const [what, separator, ...words] = argv;
	if ((what !== 'contexts' && what !== 'models') || (separator !== undefined && separator !== '--')) {
		io.stderr.write('Usage: modeldeck __complete contexts|models -- WORDS… (used by the scripts of modeldeck completion)\n');
		return 2;
	}

	const typed = typedContext(words);
	const print = (names: readonly string[]) => {
		if (names.length > 0) io.stdout.write(`${names.join('\n')}\n`);
		return 0;
	};

	try {
		if (what === 'contexts') {
			if (typed.demo) return print(deps.demoContexts);
			const env = deps.env ?? process.env;
			const kubeconfig =
				typed.kubeconfig ?? env['KUBECONFIG']?.split(path.delimiter).find(Boolean) ?? path.join(homedir(), '.kube', 'config');
			const contexts = await readKubeconfigContexts(kubeconfig, undefined);
			return print((contexts?.contexts ?? []).map((context) => context.name).filter((name) => !/\s/.test(name)));
		}

		let stdout = '';
		const captured: CommandIo = {
			stdout: {write: (chunk: string) => (stdout += chunk)},
			stderr: {write: () => true},
			stdin: new PassThrough(),
		};
		const code = await runCommand('status', statusArguments(typed, modelTimeoutSeconds), captured, deps.demo ? {demo: deps.demo} : {});
		return print(code === 0 ? modelNames(stdout) : []);
	} catch {
		return 0;
	}
}
