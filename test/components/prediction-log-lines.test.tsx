// The prediction log is drawn as one short text per line, so the texts Ink measures and caches (by the text, up to
// 8,192 entries of any size, in measure-text.js and wrap-text.js) are lines, never the whole tail: a tail of 35 lines
// was a 12 KB text, new every second, that the caches kept for minutes (the live heap grew ~1 MB a minute).
import {realpathSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {expect, it} from 'vitest';
import {prediction} from '../support/fake-sources.ts';
import {openConsolePerTest, settle} from '../support/render-console.tsx';

const open = openConsolePerTest();

/** Ink's own modules, by the path Ink itself loads them from (node_modules may be a symlink). */
async function inkModule<T>(file: string): Promise<T> {
	return (await import(pathToFileURL(realpathSync(path.resolve('node_modules/ink/build', file))).href)) as T;
}

interface InkNode {
	nodeName: string;
	nodeValue?: string;
	childNodes?: InkNode[];
}

function texts(node: InkNode): string[] {
	if (node.nodeName === '#text') return [node.nodeValue ?? ''];
	return (node.childNodes ?? []).flatMap(texts);
}

/** The longest text Ink should ever cache from the log: one line of the widest terminal, colours included. */
const lineLimit = 512;

it('draws the log as one short text per line, at 60x15 and 240x60, so what Ink caches of it is lines', async () => {
	const {default: instances} = await inkModule<{default: WeakMap<object, {rootNode: InkNode}>}>('instances.js');
	const {wrapTextCache} = await inkModule<{wrapTextCache: Map<string, string>}>('wrap-text.js');
	for (const [width, height] of [
		[60, 15],
		[240, 60],
	] as const) {
		const ui = await open({agent: true, width, height});
		await ui.press('l');
		const ids: string[] = [];
		// Three frames of new predictions, each tail longer than the screen.
		for (let batch = 0; batch < 3; batch++) {
			const fresh = Array.from({length: 80}, (_, index) => {
				const requestId = `r${width}-${batch}-${String(index).padStart(3, '0')}-${'7f3a9c0d'.repeat(4)}`;
				ids.push(requestId);
				return prediction({
					requestId,
					latencyMs: index % 7 === 0 ? 900 : 25,
					status: index % 11 === 0 ? 'error' : 'ok',
					inputSummary: `{amount: ${index}, merchant: "${'m'.repeat(index % 60)}"}`,
					outputSummary: 'fraud=0.02 → '.repeat(1 + (index % 9)),
				});
			});
			ui.sources.agent!.emit(fresh);
			await settle(1100);
		}

		const frame = ui.frame();
		const shown = ids.filter((id) => frame.includes(id.slice(0, 11)));
		expect(shown.length, frame).toBeGreaterThan(height / 2 - 4);
		const root = instances.get(ui.stdout as object)?.rootNode;
		expect(root, 'the Ink instance of the rendered console').toBeDefined();
		const logTexts = texts(root!).filter((text) => text.includes(`r${width}-`));
		expect(logTexts.length).toBeGreaterThanOrEqual(shown.length);
		for (const text of logTexts) {
			expect(text).not.toContain('\n');
			expect(text.length).toBeLessThanOrEqual(lineLimit);
		}

		// What Ink's wrap cache keeps of the log is lines too; where the screen is wide enough, nothing (lines fit).
		const wrapped = [...wrapTextCache.keys()].filter((key) => key.includes(`r${width}-`));
		if (width >= 120) expect(wrapped).toEqual([]);
		for (const key of wrapped) {
			expect(key).not.toContain('\n');
			expect(key.length).toBeLessThanOrEqual(lineLimit + 20);
		}

		ui.cleanup();
	}
});
