/** Help made from the flag table: the flags' column, and `modeldeck --help`. */
import {consoleFlags, type FlagSpec, flagTable, subcommandTable} from './table.ts';

/** The flags' part of a help text: one entry per flag, its help aligned in a column. */
export function flagHelp(flags: readonly FlagSpec[], indent = '    '): string {
	// Long names line up whether or not a flag has a short one.
	const shortWidth = flags.some((flag) => flag.short) ? 4 : 0;
	const heads = flags.map(
		(flag) => `${flag.short ? `-${flag.short}, ` : ' '.repeat(shortWidth)}--${flag.name}${flag.value ? ` ${flag.value}` : ''}`,
	);
	const width = Math.max(...heads.map((head) => head.length)) + 2;
	return flags
		.map((flag, index) => flag.help.map((line, row) => `${indent}${(row === 0 ? heads[index]! : '').padEnd(width)}${line}`).join('\n'))
		.join('\n');
}

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
