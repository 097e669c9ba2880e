import type {ConsoleSetup} from '../../source/app.tsx';
import {fullTheme} from '../../source/ui/theme.ts';

/** What every console under test starts with but its sources: the defaults of a user without a settings file. */
export const consoleDefaults = {
	theme: fullTheme,
	readOnly: false,
	namespace: undefined,
	refreshSeconds: 2,
	weightStep: 10,
	thresholds: {},
	keyOverrides: {},
} satisfies Partial<ConsoleSetup>;
