/**
 * Semantic colour tokens. Components ask for `theme.status.critical`, never for `red`, so the no-colour and
 * 16-colour themes are one table each.
 */
export interface Theme {
	name: 'full' | 'ansi16' | 'none';
	text: {primary?: string; muted?: string; accent?: string; inverse: boolean; selection?: string};
	status: {ok?: string; warning?: string; critical?: string; info?: string; stale?: string};
	track: {stable?: string; canary?: string};
	bar: {filled?: string; empty?: string};
	badge: {demo?: string; readOnly?: string};
	chart: {p50?: string; p95?: string; p99?: string; rps?: string; errors?: string; cpu?: string; memory?: string};
}

export const fullTheme: Theme = {
	name: 'full',
	text: {primary: undefined, muted: 'gray', accent: '#7aa2f7', inverse: true, selection: '#33467c'},
	status: {ok: '#9ece6a', warning: '#e0af68', critical: '#f7768e', info: '#7dcfff', stale: '#e0af68'},
	track: {stable: '#7aa2f7', canary: '#bb9af7'},
	bar: {filled: '#7dcfff', empty: 'gray'},
	badge: {demo: '#ff9e64', readOnly: '#e0af68'},
	chart: {p50: '#9ece6a', p95: '#e0af68', p99: '#f7768e', rps: '#7dcfff', errors: '#f7768e', cpu: '#bb9af7', memory: '#7aa2f7'},
};

/** Only the 16 basic ANSI colours: for old terminals, some SSH clients and tmux without true colour. */
export const ansi16Theme: Theme = {
	name: 'ansi16',
	text: {primary: undefined, muted: 'gray', accent: 'blue', inverse: true, selection: 'blue'},
	status: {ok: 'green', warning: 'yellow', critical: 'red', info: 'cyan', stale: 'yellow'},
	track: {stable: 'blue', canary: 'magenta'},
	bar: {filled: 'cyan', empty: 'gray'},
	badge: {demo: 'yellow', readOnly: 'yellow'},
	chart: {p50: 'green', p95: 'yellow', p99: 'red', rps: 'cyan', errors: 'red', cpu: 'magenta', memory: 'blue'},
};

/** NO_COLOR / --no-color: no colours at all; emphasis through bold, inverse and text. */
export const noColorTheme: Theme = {
	name: 'none',
	text: {inverse: true},
	status: {},
	track: {},
	bar: {},
	badge: {},
	chart: {},
};

/** Pick a theme from the flags and the environment (`NO_COLOR`, `COLORTERM`, `TERM`). */
export function chooseTheme(options: {noColor: boolean; env: NodeJS.ProcessEnv}): Theme {
	if (options.noColor || (options.env['NO_COLOR'] !== undefined && options.env['NO_COLOR'] !== '')) return noColorTheme;
	const colorTerm = options.env['COLORTERM'] ?? '';
	if (colorTerm === 'truecolor' || colorTerm === '24bit') return fullTheme;
	const term = options.env['TERM'] ?? '';
	if (term.includes('256color')) return fullTheme;
	return ansi16Theme;
}
