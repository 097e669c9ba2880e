/**
 * Turn Ink's (input, key) pair into one key name such as `j`, `enter`, `esc`, `up`, `ctrl+c` or `space`.
 * Bindings, help and tests all speak these names, never raw bytes.
 */

export interface InkKey {
	upArrow?: boolean;
	downArrow?: boolean;
	leftArrow?: boolean;
	rightArrow?: boolean;
	pageUp?: boolean;
	pageDown?: boolean;
	home?: boolean;
	end?: boolean;
	return?: boolean;
	escape?: boolean;
	ctrl?: boolean;
	shift?: boolean;
	tab?: boolean;
	backspace?: boolean;
	delete?: boolean;
	meta?: boolean;
}

export function keyName(input: string, key: InkKey): string {
	if (key.upArrow) return 'up';
	if (key.downArrow) return 'down';
	if (key.leftArrow) return 'left';
	if (key.rightArrow) return 'right';
	if (key.pageUp) return 'pageup';
	if (key.pageDown) return 'pagedown';
	if (key.home) return 'home';
	if (key.end) return 'end';
	if (key.return) return 'enter';
	if (key.escape) return 'esc';
	if (key.tab) return key.shift ? 'shift+tab' : 'tab';
	// Terminals send DEL (0x7f) for the backspace key; Ink reports it as delete.
	if (key.backspace || key.delete) return 'backspace';
	if (key.ctrl && input) return `ctrl+${input.toLowerCase()}`;
	if (input === ' ') return 'space';
	// Raw control characters: keys typed faster than a frame arrive as one string and are split by the caller.
	if (input === '\r' || input === '\n') return 'enter';
	if (input === '\t') return 'tab';
	if (input === '\u007F' || input === '\b') return 'backspace';
	if (input === '\u001B') return 'esc';
	if (input.length === 1 && input.charCodeAt(0) >= 1 && input.charCodeAt(0) <= 26) {
		return `ctrl+${String.fromCharCode(input.charCodeAt(0) + 96)}`;
	}

	return input;
}

/** How a key name is shown to people in the footer, the help overlay and the README. */
export function displayKey(name: string): string {
	const names: Record<string, string> = {
		up: '↑',
		down: '↓',
		left: '←',
		right: '→',
		enter: 'enter',
		esc: 'esc',
		space: 'space',
		backspace: 'bksp',
	};
	return names[name] ?? name;
}
