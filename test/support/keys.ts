/** Named keys as a terminal sends them. Tests write these to stdin; raw bytes live only here. */
export const Keys = {
	up: '\u001B[A',
	down: '\u001B[B',
	right: '\u001B[C',
	left: '\u001B[D',
	enter: '\r',
	esc: '\u001B',
	backspace: '\u007F',
	tab: '\t',
	space: ' ',
	ctrlC: '\u0003',
} as const;

export type KeyName = keyof typeof Keys;

/** A single printable key by its name in the keymap (`j`, `?`, `+`). */
export function key(name: string): string {
	return (Keys as Record<string, string>)[name] ?? name;
}
