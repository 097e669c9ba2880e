/**
 * The subcommands of the command line (agent, model-server, rollout, runbook, status, weight, promote, rollback,
 * config, completion): each loaded only when asked for, so the console's start-up loads none of them. Part of the
 * composition root (cli.tsx): the demo reaches the one-shot commands only through the DemoConnector made here.
 */
import type {DemoConnector} from './commands/index.ts';

const demoForCommands: DemoConnector = async (options) => (await import('./demo/for-commands.ts')).demoForCommands(options);

export async function runSubcommand(name: string, argv: string[]): Promise<number> {
	switch (name) {
		case 'agent': {
			const {runAgent} = await import('./agent/main.ts');
			return runAgent(argv);
		}

		case 'model-server': {
			const {runModelServer} = await import('./model-server/main.ts');
			return runModelServer(argv);
		}

		case 'completion':
		case '__complete': {
			const [{runCompletion, runComplete}, {scenarioNames}, {PRODUCTION_CONTEXT, STAGING_CONTEXT}] = await Promise.all([
				import('./commands/complete.ts'),
				import('./demo/scenarios.ts'),
				import('./demo/fleet.ts'),
			]);
			if (name === 'completion') {
				const [{agentUsage}, {MODEL_SERVER_USAGE}, {rolloutUsage}] = await Promise.all([
					import('./agent/main.ts'),
					import('./model-server/main.ts'),
					import('./commands/rollout-args.ts'),
				]);
				const usages = {agent: agentUsage, 'model-server': MODEL_SERVER_USAGE, rollout: rolloutUsage};
				return runCompletion(argv, {scenarios: scenarioNames, usages}, process);
			}

			const code = await runComplete(argv, {demoContexts: [PRODUCTION_CONTEXT, STAGING_CONTEXT], demo: demoForCommands}, process);
			// As for the commands below: a request to a cluster that never answered must not hold the shell's TAB.
			await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
			return process.exit(code);
		}

		case 'runbook': {
			const {runRunbookCommand} = await import('./runbook/main.ts');
			const code = await runRunbookCommand(argv, process);
			await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
			return process.exit(code);
		}

		case 'rollout': {
			const [{runRollout}, {rolloutDependencies}, {loadSettings}] = await Promise.all([
				import('./commands/rollout.ts'),
				import('./agent/rollout-foreground.ts'),
				import('./settings/settings.ts'),
			]);
			const settings = await loadSettings().catch((error: unknown) => error as Error);
			if (settings instanceof Error) {
				process.stderr.write(`${settings.message}\n`);
				return 1;
			}

			const code = await runRollout(argv, process, rolloutDependencies(settings.settings));
			await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
			return process.exit(code);
		}

		case 'config': {
			if (argv[0] !== 'path') {
				process.stderr.write('Usage: modeldeck config path\n');
				return 2;
			}

			const {settingsPath} = await import('./settings/settings.ts');
			process.stdout.write(`${settingsPath()}\n`);
			return 0;
		}

		default: {
			const [{runCommand, parseCommandArgs}, {loadSettings, SettingsError}] = await Promise.all([
				import('./commands/index.ts'),
				import('./settings/settings.ts'),
			]);
			let settings;
			let settingsFile;
			try {
				({settings, path: settingsFile} = await loadSettings());
			} catch (error) {
				if (error instanceof SettingsError) {
					process.stderr.write(`${error.message}\n`);
					return 1;
				}

				throw error;
			}

			// Settings apply to scripts as to the console: thresholds, Prometheus, and read-only contexts.
			const command = name as 'status' | 'weight' | 'promote' | 'rollback';
			const parsedArgs = parseCommandArgs(command, argv);
			const contextFlag = 'args' in parsedArgs ? parsedArgs.args.context : undefined;
			const perContext = contextFlag ? settings.contexts[contextFlag] : undefined;
			const code = await runCommand(command, argv, undefined, {
				demo: demoForCommands,
				thresholds: settings.thresholds,
				promoteKeepsOldStable: settings.promoteKeepsOldStable,
				profiles: settings.profiles,
				...(settings.readOnly ? {readOnly: true, readOnlyReason: `readOnly in ${settingsFile}`} : {}),
				...((perContext?.prometheusUrl ?? settings.prometheusUrl)
					? {prometheusUrl: perContext?.prometheusUrl ?? settings.prometheusUrl}
					: {}),
				...(perContext?.prometheusService ? {prometheusService: perContext.prometheusService} : {}),
				readOnlyContexts: Object.entries(settings.contexts)
					.filter(([, context]) => context.readOnly)
					.map(([name]) => name),
			});
			// The command has its answer (or gave up at its deadline): leave now. A request it no longer waits for
			// (a list still in flight to a server that never answers) would otherwise hold the process open until that
			// request's own timeout, long past --timeout.
			await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
			process.exit(code);
		}
	}
}
