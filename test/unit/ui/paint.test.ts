// paint() must colour exactly as Ink's <Text color> does, whatever the terminal's colour level.
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import chalk from 'chalk';
import {afterEach, expect, it} from 'vitest';
import {paint} from '../../../source/ui/ink/paint.ts';
import {ansi16Theme, fullTheme, noColorTheme, type Theme} from '../../../source/ui/theme.ts';

const originalLevel = chalk.level;
afterEach(() => {
	chalk.level = originalLevel;
});

function colours(theme: Theme): Array<string | undefined> {
	return Object.values(theme)
		.flatMap((group) => (typeof group === 'object' ? Object.values(group as Record<string, unknown>) : []))
		.filter((value): value is string | undefined => typeof value !== 'boolean');
}

it('colours every theme colour, and the other forms Ink accepts, exactly as Ink does at every colour level, text and background', async () => {
	// Ink's package exports hide build/colorize.js: import it by path (it shares this chalk instance).
	const {default: colorize} = (await import(pathToFileURL(path.resolve('node_modules/ink/build/colorize.js')).href)) as {
		default: (text: string, color: string | undefined, type: 'foreground' | 'background') => string;
	};
	const candidates = [
		...colours(fullTheme),
		...colours(ansi16Theme),
		...colours(noColorTheme),
		'redBright',
		'ansi256(208)',
		'rgb(1, 2, 3)',
		'ansi256(x)',
		'rgb(1,2)',
		'chartreuse',
		'',
		undefined,
	];
	expect(candidates).toContain('#9ece6a');
	for (const level of [0, 1, 2, 3] as const) {
		chalk.level = level;
		for (const colour of candidates) {
			for (const text of ['ok', '12.5 ', 'a\u001b[1mb']) {
				expect(paint(text, colour)).toBe(colorize(text, colour, 'foreground'));
				expect(paint(text, colour, 'background')).toBe(colorize(text, colour, 'background'));
			}
		}
	}

	chalk.level = 3;
	expect(paint('ok', '#9ece6a')).toBe('\u001b[38;2;158;206;106mok\u001b[39m');
	chalk.level = 0;
	expect(paint('ok', '#9ece6a')).toBe('ok');
});
