/**
 * Fuzzy matching for the command palette: every query character must appear in order; consecutive runs,
 * word starts and an early first match score higher. Returns null when the text does not match.
 */
export function fuzzyScore(query: string, text: string): number | null {
	const needle = query.trim().toLowerCase();
	if (needle === '') return 0;
	const haystack = text.toLowerCase();
	let score = 0;
	let position = 0;
	let previousMatch = -2;
	for (const character of needle) {
		if (character === ' ') continue;
		const found = haystack.indexOf(character, position);
		if (found === -1) return null;
		score += 1;
		if (found === previousMatch + 1) score += 3;
		const before = found === 0 ? ' ' : haystack[found - 1]!;
		if (/[\s\-_.:/]/.test(before)) score += 2;
		if (found === 0) score += 2;
		previousMatch = found;
		position = found + 1;
	}

	// Prefer shorter texts among equal matches.
	return score - haystack.length / 100;
}

export function fuzzyFilter<T>(query: string, items: readonly T[], text: (item: T) => string): T[] {
	return items
		.map((item, index) => ({item, index, score: fuzzyScore(query, text(item))}))
		.filter((entry): entry is {item: T; index: number; score: number} => entry.score !== null)
		.sort((a, b) => b.score - a.score || a.index - b.index)
		.map((entry) => entry.item);
}
