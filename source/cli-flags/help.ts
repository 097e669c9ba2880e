/** Help made from the flag table: `modeldeck --help`. */
import {flagHelp} from '../flags/parse.ts';
import {consoleFlags, flagTable, subcommandTable} from './table.ts';

/** `modeldeck --help`: the usage lines, then every flag from the table. */
export function consoleHelp(): string {
	const commandOnly = flagTable.filter((flag) => !flag.console);
	return `
  The terminal console for model deployments.

  Usage
    $ modeldeck [flags]                      console on the current kubeconfig context
    $ modeldeck --demo [--scenario NAME]     console on a simulated fleet
${subcommandTable.map((subcommand) => `    $ ${subcommand.usage.padEnd(37)}${subcommand.summary}`).join('\n')}

  Flags
${flagHelp(consoleFlags)}

  Flags of status, weight, promote and rollback (each also takes the flags above that it needs;
  modeldeck COMMAND --help lists them)
${flagHelp(commandOnly)}

  Keys: press ? in the console.
`;
}
