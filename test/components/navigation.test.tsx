import {describe, expect, it} from 'vitest';
import type {Prediction} from '../../source/domain/types.ts';
import {FakeAgent, fakeSources, prediction} from '../support/fake-sources.ts';
import {openConsolePerTest, settle} from '../support/render-console.tsx';

const open = openConsolePerTest();

/** The log flushes on the clock's tick: wait for it. */
async function tick() {
	await settle(1100);
}

/** An agent that answers lookups as the agent API now does: every stored prediction whose id starts with the text. */
class PrefixAgent extends FakeAgent {
	readonly stored: Prediction[];

	constructor(stored: Prediction[]) {
		super();
		this.stored = stored;
	}

	override async lookup(text: string) {
		return this.stored.filter((stored) => stored.requestId.startsWith(text)) as Awaited<ReturnType<FakeAgent['lookup']>>;
	}
}

describe('esc goes back one level', () => {
	it('fleet → model → log: esc comes back to the model, then to the fleet (it used to jump to the fleet)', async () => {
		const ui = await open({agent: true});
		await ui.press('enter');
		expect(ui.frame()).toContain('STABLE v12');
		await ui.press('l');
		expect(ui.frame()).toContain('Predictions');
		await ui.press('esc');
		expect(ui.frame()).toContain('STABLE v12');
		expect(ui.frame()).not.toContain('Predictions');
		await ui.press('esc');
		expect(ui.frame()).toMatch(/›\s*fraud-detector/);
		expect(ui.frame()).not.toContain('STABLE v12');
	});
});

describe('l from a model view', () => {
	it("shows that model's predictions only (it used to show every model)", async () => {
		const ui = await open({agent: true});
		ui.sources.agent!.emit([
			prediction({requestId: 'req-fraud-a', model: 'fraud-detector'}),
			prediction({requestId: 'req-rec-b', model: 'recommender', version: 'v2'}),
		]);
		await ui.press('enter', 'l');
		await tick();
		expect(ui.frame()).toContain('Predictions of prod/fraud-detector');
		expect(ui.frame()).toContain('req-fraud-a');
		expect(ui.frame()).not.toContain('req-rec-b');
		// From the fleet, every model.
		await ui.press('esc', 'esc', 'l');
		await tick();
		expect(ui.frame()).toContain('req-rec-b');
	});
});

describe('the fleet table says how it is sorted and filtered', () => {
	it('shows an active filter and the sort in plain words (the sort was `↓p99Ms`, the filter not shown at all)', async () => {
		const ui = await open();
		await ui.waitFor('✖');
		await ui.press('o', 'o');
		expect(ui.frame()).toContain('sorted by p99 latency, slowest first');
		expect(ui.frame()).not.toContain('p99Ms');
		await ui.press('/');
		await ui.type('fraud');
		await ui.press('enter');
		expect(ui.frame()).toContain('sorted by p99 latency, slowest first · only rows matching "fraud" (esc clears)');
		await ui.press('esc');
		expect(ui.frame()).not.toContain('only rows matching');
	});

	it('keeps the cursor on its row when the rows are filtered (it went back to the first row)', async () => {
		const ui = await open();
		await ui.press('j');
		expect(ui.frame()).toMatch(/›\s+v13/);
		await ui.press('/');
		await ui.type('fraud');
		await ui.press('enter');
		expect(ui.frame()).toMatch(/›\s+v13/);
	});

	it('keeps the cursor on its row when the rows are sorted again (it stayed on the same line number)', async () => {
		const sources = fakeSources();
		const recommender = sources.cluster.models.find((model) => model.name === 'recommender')!;
		sources.cluster.models.unshift({...recommender, name: 'alpha'});
		const ui = await open({sources});
		await ui.waitFor('✖');
		expect(ui.frame()).toMatch(/›\s*alpha/);
		await ui.press('o'); // by flags: fraud-detector (critical) comes first
		const lines = ui.frame().split('\n');
		expect(lines.findIndex((line) => line.includes('fraud-detector'))).toBeLessThan(lines.findIndex((line) => line.includes('alpha')));
		expect(ui.frame()).toMatch(/›\s*alpha/);
	});
});

describe('f finds a prediction by the start of its request id', () => {
	const stored = [
		prediction({requestId: 'req-abc-1', inputSummary: '{amount: 1}', outputSummary: 'fraud=0.11'}),
		prediction({requestId: 'req-abc-2', inputSummary: '{amount: 2}', outputSummary: 'fraud=0.22', time: Date.now() - 1000}),
		prediction({requestId: 'req-xyz-9', inputSummary: '{amount: 9}', outputSummary: 'fraud=0.99'}),
	];

	it('opens the one request that starts with the text, with its request and response', async () => {
		const ui = await open({sources: {...fakeSources(), agent: new PrefixAgent(stored)}});
		await ui.press('l', 'f');
		await ui.type('req-x');
		await ui.press('enter');
		await settle(30);
		expect(ui.frame()).toContain('Prediction req-xyz-9');
		expect(ui.frame()).toContain('request: {amount: 9}');
		expect(ui.frame()).toContain('response: fraud=0.99');
	});

	it('asks which when several requests start with it', async () => {
		const ui = await open({sources: {...fakeSources(), agent: new PrefixAgent(stored)}});
		await ui.press('l', 'f');
		await ui.type('req-abc');
		await ui.press('enter');
		await settle(30);
		expect(ui.frame()).toContain('2 requests start with "req-abc": which one?');
		expect(ui.frame()).toContain('req-abc-1');
		expect(ui.frame()).toContain('req-abc-2');
		const listed = ui
			.frame()
			.split('\n')
			.flatMap((line) => /(req-abc-\d)\s+\d/.exec(line)?.[1] ?? []);
		expect(listed).toHaveLength(2);
		await ui.press('down', 'enter');
		expect(ui.frame()).toContain(`Prediction ${listed[1]}`);
		expect(ui.frame()).toContain(listed[1] === 'req-abc-2' ? 'response: fraud=0.22' : 'response: fraud=0.11');
	});

	it('finds a cut id in the log even when the agent matches whole ids only', async () => {
		const ui = await open({agent: true});
		await ui.press('l');
		ui.sources.agent!.emit([prediction({requestId: 'req-7f3a9c0d-long', outputSummary: 'fraud=0.73'})]);
		await tick();
		await ui.press('f');
		await ui.type('req-7f3a');
		await ui.press('enter');
		await settle(30);
		expect(ui.frame()).toContain('Prediction req-7f3a9c0d-long');
		expect(ui.frame()).toContain('response: fraud=0.73');
	});
});

describe('enter on a log line', () => {
	it('opens its request and response (enter did nothing on the log)', async () => {
		const ui = await open({agent: true});
		await ui.press('l');
		ui.sources.agent!.emit([
			prediction({requestId: 'req-older', inputSummary: '{amount: 40}', outputSummary: 'fraud=0.40'}),
			prediction({requestId: 'req-newer', inputSummary: '{amount: 50}', outputSummary: 'fraud=0.50'}),
		]);
		await tick();
		await ui.press('k', 'k'); // the newest line, then the one before it; picking pauses the tail
		expect(ui.frame()).toContain('PAUSED');
		await ui.press('enter');
		expect(ui.frame()).toContain('Prediction req-older');
		expect(ui.frame()).toContain('request: {amount: 40}');
		expect(ui.frame()).toContain('response: fraud=0.40');
		await ui.press('esc');
		expect(ui.frame()).toContain('req-newer');
	});

	it('keeps the newest lines on screen while a recent line is picked, and follows the pick further back', async () => {
		const ui = await open({agent: true, height: 14});
		await ui.press('l');
		ui.sources.agent!.emit(Array.from({length: 30}, (_, index) => prediction({requestId: `req-n${String(index).padStart(2, '0')}`})));
		await tick();
		await ui.press('k', 'k');
		expect(ui.frame()).toContain('req-n29');
		expect(ui.frame()).toContain('req-n28');
		await ui.press('enter');
		expect(ui.frame()).toContain('Prediction req-n28');
		await ui.press('esc', ...Array.from({length: 20}, () => 'k'));
		expect(ui.frame()).toContain('req-n08');
		expect(ui.frame()).not.toContain('req-n29');
		await ui.press('enter');
		expect(ui.frame()).toContain('Prediction req-n08');
	});
});

describe('flagged models', () => {
	it('are counted in the header, and ! jumps to the next one (neither existed)', async () => {
		const ui = await open();
		await ui.waitFor('✖');
		expect(ui.frame().split('\n')[0]).toContain('1 flagged');
		await ui.press('G');
		expect(ui.frame()).toMatch(/›\s*recommender/);
		await ui.press('!');
		expect(ui.frame()).toMatch(/›\s*fraud-detector/);
	});
});
