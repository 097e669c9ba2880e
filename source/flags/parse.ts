/**
 * Flags from a table: every modeldeck program (the console and its commands, the agent, the model server) declares its
 * flags as a table of FlagDef, and the parser, the `--help` text and the README's flag tables are made from it. meow
 * reads the arguments. Every error says how to fix it.
 */
import meow, {type AnyFlags} from 'meow';

export interface FlagDef {
	name: string;
	short?: string;
	/** The value's placeholder (`NAME`); a flag without one is a switch. */
	value?: string;
	/** Help text, one string per line. */
	help: readonly string[];
	/** The values it takes, when it is an enumeration. */
	choices?: readonly string[];
	/** It may be given several times and every value counts (`--allow-ip A --allow-ip B`); otherwise the last one wins. */
	multiple?: boolean;
	/** An empty value counts as not given (a pipeline's unset variable, `--prometheus "$URL"`), not as a missing one. */
	emptyIsUnset?: boolean;
}

/** The flags' part of a help text: one entry per flag, its help aligned in a column. */
export function flagHelp(flags: readonly FlagDef[], indent = '    '): string {
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

export interface ParsedFlags {
	/** Flag name → its value (`true` for a switch); the last one given wins. */
	values: Map<string, string | true>;
	/** Flag name → every value given, in order, for the flags marked `multiple`. */
	lists: Map<string, string[]>;
	positionals: string[];
	/** modeldeck's version, from the package.json meow found. */
	version?: string;
}

/** The meow flags of FLAGS, keyed the way meow names them (camelCase). */
function meowFlags(flags: readonly FlagDef[]): AnyFlags {
	const result: AnyFlags = {};
	for (const flag of flags) {
		// yargs-parser (under meow) reads --no-color as color=false itself; a flag of its own would never be set.
		if (flag.name.startsWith('no-') && flags.some((other) => other.name === flag.name.slice(3))) continue;
		result[camelCase(flag.name)] = flag.value
			? // Repeated value flags are collected so the last one wins, as every modeldeck flag always did.
				{
					type: 'string',
					isMultiple: true,
					...(flag.short ? {shortFlag: flag.short} : {}),
					...(flag.choices ? {choices: [...flag.choices]} : {}),
				}
			: {type: 'boolean', ...(flag.short ? {shortFlag: flag.short} : {})};
	}

	return result;
}

/**
 * package.json's name, version and bin, built into the bundle and the single executable (scripts/build.ts, sea.ts), so
 * that meow neither looks for the file nor reads it at every start. Run from source (the tests), meow finds it.
 */
declare const MODELDECK_PACKAGE: Record<string, unknown> | undefined;
let manifest: Record<string, unknown> | undefined = typeof MODELDECK_PACKAGE === 'undefined' ? undefined : MODELDECK_PACKAGE;

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * Parse ARGV against FLAGS with meow. A flag that takes a value takes the next argument (or `--flag=value`), and refuses
 * to run without one; the next argument does not count as a value when it is itself a flag. `-5` is an argument, not a
 * flag (a negative number, which the command then explains). `--` ends the flags.
 *
 * meow exits the process on an unknown flag and yargs-parser reads `-5a` as the flags 5 and a, `--context --demo` as an
 * empty context and `--demo=yes` as false; so a check before meow names unknown flags (with a suggestion), values that
 * are missing and switches given a value, and hands meow the flags with each value attached (`--name=value`) and the
 * arguments after `--`, where yargs-parser takes every one as it is.
 */
export function parseFlags(
	argv: readonly string[],
	flags: readonly FlagDef[],
	helpHint = 'Run modeldeck --help for the list.',
): ParsedFlags | {errors: string[]} {
	const errors: string[] = [];
	const forMeow: string[] = [];
	const positionals: string[] = [];
	const byName = new Map(flags.map((flag) => [flag.name, flag]));
	const byShort = new Map(flags.filter((flag) => flag.short).map((flag) => [flag.short!, flag]));
	const isFlag = (argument: string | undefined) =>
		argument !== undefined && argument.startsWith('-') && argument !== '-' && !/^-\d/.test(argument);
	const needsValue = (flag: FlagDef, shown: string) =>
		`${shown} needs a value: ${shown} ${flag.value}${shown.startsWith('--') ? ` (a value that starts with "-" is written ${shown}=-…)` : ''}.`;
	/** The value of FLAG written as SHOWN: attached, or the next argument unless that is a flag. */
	const takeValue = (flag: FlagDef, shown: string, index: number, attached: string | undefined): number => {
		const value = attached ?? (isFlag(argv[index + 1]) ? undefined : argv[index + 1]);
		if (value !== undefined && value.trim() === '' && flag.emptyIsUnset) return attached === undefined ? index + 1 : index;
		if (value === undefined || value.trim() === '') errors.push(needsValue(flag, shown));
		else forMeow.push(`--${flag.name}=${value}`);
		return attached === undefined && value !== undefined ? index + 1 : index;
	};

	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index]!;
		if (argument === '--') {
			positionals.push(...argv.slice(index + 1));
			break;
		}

		if (!isFlag(argument)) {
			positionals.push(argument);
			continue;
		}

		if (argument.startsWith('--')) {
			const equals = argument.indexOf('=');
			const name = argument.slice(2, equals === -1 ? undefined : equals);
			const flag = byName.get(name);
			if (!flag) {
				const suggestion = closest(name, [...byName.keys()]);
				errors.push(`Unknown flag --${name}.${suggestion ? ` Did you mean --${suggestion}?` : ''} ${helpHint}`);
			} else if (!flag.value) {
				if (equals === -1) forMeow.push(argument);
				else errors.push(`--${name} takes no value (got "${argument}").`);
			} else {
				index = takeValue(flag, `--${name}`, index, equals === -1 ? undefined : argument.slice(equals + 1));
			}

			continue;
		}

		// Short flags: switches may be grouped (-yA); one that takes a value ends the group (-nteam-a or -n team-a).
		const letters = argument.slice(1);
		for (let position = 0; position < letters.length; position++) {
			const letter = letters[position]!;
			const flag = byShort.get(letter);
			if (!flag) {
				errors.push(`Unknown flag -${letter}. ${helpHint}`);
				break;
			}

			if (!flag.value) {
				forMeow.push(`-${letter}`);
				continue;
			}

			const attached = letters.slice(position + 1).replace(/^=/, '');
			index = takeValue(flag, `-${letter}`, index, attached === '' ? undefined : attached);
			break;
		}
	}

	if (errors.length > 0) return {errors};
	let parsed;
	try {
		parsed = meow({
			importMeta: import.meta,
			// package.json is looked up once, not on every parse.
			...(manifest ? {pkg: manifest} : {}),
			argv: [...forMeow, '--', ...positionals],
			flags: meowFlags(flags),
			allowUnknownFlags: false,
			// Help and version are modeldeck's: the help is made from the table, and both are printed by the caller.
			autoHelp: false,
			autoVersion: false,
			// A switch not given is absent, not false: "given" is what the callers ask.
			booleanDefault: undefined,
		});
	} catch (error) {
		// meow's own refusals (a value outside a flag's choices) already say what is allowed.
		return {errors: [error instanceof Error ? error.message.replaceAll('`', '') : String(error)]};
	}

	// meow normalises the package (URLs and all) on every call it is given one; only what it uses is kept.
	manifest ??= {name: parsed.pkg.name, version: parsed.pkg.version, bin: parsed.pkg.bin};
	const values = new Map<string, string | true>();
	const lists = new Map<string, string[]>();
	for (const flag of flags) {
		let value: unknown = parsed.flags[camelCase(flag.name)];
		// yargs-parser (under meow) takes the quotes off a value written in quotes: `--record '""'` comes out empty, which
		// the check above could not see. Empty is said (or, where allowed, taken as unset) as it is before meow.
		if (Array.isArray(value) && value.some((entry) => String(entry).trim() === '')) {
			if (!flag.emptyIsUnset) errors.push(needsValue(flag, `--${flag.name}`));
			value = value.filter((entry) => String(entry).trim() !== '');
		}

		if (Array.isArray(value) && value.length > 0) {
			values.set(flag.name, String(value.at(-1)));
			if (flag.multiple) lists.set(flag.name, value.map(String));
		} else if (value === true) values.set(flag.name, true);
	}

	if (errors.length > 0) return {errors};

	// yargs-parser (under meow) reads --no-X as X=false, whether or not X is a flag; the table keeps --no-X as a flag of
	// its own (--no-color, the agent's --no-auth).
	for (const flag of flags) {
		if (flag.name.startsWith('no-') && !flag.value && parsed.flags[camelCase(flag.name.slice(3))] === false) values.set(flag.name, true);
	}
	return {values, lists, positionals: parsed.input, ...(typeof manifest['version'] === 'string' ? {version: manifest['version']} : {})};
}

export function closest(name: string, candidates: readonly string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of candidates) {
		const distance = editDistance(name, candidate);
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}

	return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
	const previous = Array.from({length: b.length + 1}, (_, index) => index);
	for (let i = 1; i <= a.length; i++) {
		let diagonal = previous[0]!;
		previous[0] = i;
		for (let j = 1; j <= b.length; j++) {
			const above = previous[j]!;
			previous[j] = Math.min(previous[j]! + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
			diagonal = above;
		}
	}

	return previous[b.length]!;
}

/** Typed reads of parsed flags: a value flag's text, whether a switch was given, every value of a `multiple` flag. */
export function flagReader(parsed: ParsedFlags): {
	text: (name: string) => string | undefined;
	on: (name: string) => boolean;
	list: (name: string) => string[];
} {
	return {
		text: (name) => {
			const value = parsed.values.get(name);
			return typeof value === 'string' ? value : undefined;
		},
		on: (name) => parsed.values.get(name) === true,
		list: (name) => parsed.lists.get(name) ?? [],
	};
}
