import {describe, expect, it} from 'vitest';
import {displayKey} from '../../source/keymap/key-name.ts';
import {commands} from '../../source/keymap/registry.ts';
import {LazyAgentPort} from '../../source/adapters/lazy-agent.ts';
import type {AgentEvent} from '../../source/domain/ports.ts';
import type {Model} from '../../source/domain/types.ts';
import {FakeAgent, fakeSources, prediction} from '../support/fake-sources.ts';
import {openConsolePerTest, settle} from '../support/render-console.tsx';

const open = openConsolePerTest();

describe('fleet table', () => {
	it('shows every version with its figures and flags', async () => {
		const ui = await open();
		const frame = await ui.waitFor(/v13.*✖/);
		expect(frame).toContain('fraud-detector');
		expect(frame).toContain('v12');
		expect(frame).toContain('v13');
		expect(frame).toContain('recommender');
		expect(frame).toMatch(/90%/);
		expect(frame).toContain('180'); // rps of v12
		// v13's p99 of 900 ms breaks the 500 ms default threshold and the canary margin.
		expect(frame).toMatch(/v13.*✖/);
		expect(frame).toContain('prom:ok');
	});

	it('moves the selection with j and k and opens a model with enter', async () => {
		const ui = await open();
		expect(ui.frame()).toMatch(/›\s*fraud-detector/);
		await ui.press('j');
		expect(ui.frame()).toMatch(/›\s+v13/);
		await ui.press('down', 'k');
		expect(ui.frame()).toMatch(/›\s+v13/);
		await ui.press('enter');
		expect(ui.frame()).toContain('STABLE v12');
		expect(ui.frame()).toContain('CANARY v13');
		await ui.press('esc');
		expect(ui.frame()).toContain('MODEL');
	});

	it('filters rows with / and clears with esc', async () => {
		const ui = await open();
		await ui.press('/');
		await ui.type('recom');
		expect(ui.frame()).not.toContain('fraud-detector');
		expect(ui.frame()).toContain('recommender');
		await ui.press('esc');
		expect(ui.frame()).toContain('fraud-detector');
	});

	it('fits 80x24 by dropping low-priority columns', async () => {
		const ui = await open({width: 80, height: 24});
		const lines = ui.frame().split('\n');
		expect(lines.length).toBeLessThanOrEqual(24);
		for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
		expect(ui.frame()).not.toContain('NAMESPACE');
		expect(ui.frame()).toContain('P99');
	});

	it('uses the room of a wide terminal', async () => {
		const ui = await open({width: 160, height: 30});
		expect(ui.frame()).toContain('NAMESPACE');
		expect(ui.frame()).toContain('P50');
	});

	it('sorts by flags with o, worst first', async () => {
		const ui = await open();
		await ui.waitFor('✖');
		await ui.press('o');
		expect(ui.frame()).toContain('sorted by flags, worst first');
		const frame = ui.frame();
		expect(frame.indexOf('fraud-detector')).toBeLessThan(frame.indexOf('recommender'));
	});
});

describe('actions', () => {
	it('shifts canary weight through a confirmation that shows exactly what changes', async () => {
		const ui = await open({metrics: false});
		await ui.press('+');
		expect(ui.frame()).toContain('canary v13: 10% → 20%');
		expect(ui.frame()).toContain('stable v12: 90% → 80%');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.cluster.calls).toContain('weight fraud-detector v13 20');
		expect(ui.frame()).toContain('10% → 20%');
	});

	it('cancels with n and changes nothing', async () => {
		const ui = await open();
		await ui.press('-', 'n');
		expect(ui.sources.cluster.calls).toEqual([]);
		expect(ui.frame()).not.toContain('→');
	});

	it('sets the weight to a typed value with w, and refuses a bad value with a message', async () => {
		// Without metrics the canary is not flagged: the danger gate has tests of its own.
		const ui = await open({metrics: false});
		await ui.press('w');
		await ui.type('150');
		await ui.press('enter');
		expect(ui.frame()).toContain('above 100');
		await ui.press('backspace', 'backspace', 'backspace');
		await ui.type('35');
		await ui.press('enter');
		expect(ui.frame()).toContain('canary v13: 10% → 35%');
		await ui.press('enter');
		await settle(50);
		expect(ui.sources.cluster.calls).toContain('weight fraud-detector v13 35');
	});

	it('rolls back and promotes after confirmation', async () => {
		const ui = await open({metrics: false});
		await ui.press('r');
		expect(ui.frame()).toContain('canary v13: 10% → 0%');
		expect(ui.frame()).toContain('stable v12: 90% → 100%');
		await ui.press('y');
		await settle(50);
		await ui.press('p');
		expect(ui.frame()).toContain('canary v13: 0% → 100%');
		expect(ui.frame()).toContain('stable v12: 100% → 0%');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual(['rollback fraud-detector v13', 'promote fraud-detector v13']);
		// The result is the plan's words, the same as the dialog's.
		expect(ui.frame()).toContain('fraud-detector: v12 100% → 0%, v13 0% → 100%');
	});

	it('reports a conflict instead of overwriting a concurrent change', async () => {
		const ui = await open({metrics: false});
		await ui.press('+');
		ui.sources.cluster.models[0]!.versions[1]!.weight = 30; // someone else changed it meanwhile
		await ui.press('y');
		await settle(50);
		expect(ui.frame()).toContain('conflict');
		expect(ui.sources.cluster.calls).toEqual([]);
	});

	it('says why a key does nothing: no canary', async () => {
		const ui = await open();
		await ui.press('G'); // last row: recommender has no canary
		await ui.press('p');
		expect(ui.frame()).toContain('recommender has no canary');
	});

	it('smoke test needs the agent and says so', async () => {
		const ui = await open();
		await ui.press('s');
		expect(ui.frame()).toContain('needs the modeldeck agent');
	});

	it('smoke-tests every version through the agent and shows their checks side by side, one line each', async () => {
		const ui = await open({agent: true});
		await ui.press('enter', 's');
		await settle(50);
		expect(ui.sources.agent!.actions.map((action) => action.kind === 'smoke-test' && action.target.version)).toEqual(['v12', 'v13']);
		const lines = ui.frame().split('\n');
		// Stable on the left, canary on the right, on the same lines.
		const titles = lines.find((line) => line.includes('smoke v12'));
		expect(titles).toMatch(/✔ smoke v12 2\/2 checks passed\s+✖ smoke v13 1\/2 checks passed/);
		const firstChecks = lines[lines.indexOf(titles!) + 1]!;
		// A failed check comes first in its column, with what failed.
		expect(firstChecks).toMatch(/✔ metadata\s+✖ output range: value 1\.7 outside \[0,1\]/);
		expect(lines[lines.indexOf(titles!) + 2]).toMatch(/✔ output range\s+✔ metadata/);
	});

	it('load test asks first, then goes through the agent', async () => {
		const ui = await open({agent: true});
		await ui.press('t');
		expect(ui.frame()).toContain('requests/s to each of v12 and v13');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.agent!.actions[0]).toMatchObject({kind: 'load-test'});
	});
});

describe('read-only', () => {
	it('removes every dangerous command and says read-only in the footer', async () => {
		const ui = await open({readOnly: true, readOnlyReason: '--read-only'});
		expect(ui.frame()).toContain('read-only');
		await ui.press('+');
		await ui.press('p');
		await ui.press('r');
		expect(ui.frame()).not.toContain('→');
		expect(ui.sources.cluster.calls).toEqual([]);
		await ui.press('?');
		expect(ui.frame()).not.toContain('Promote');
		expect(ui.frame()).toContain('Show every key');
	});

	it('a dangerous key says why it does nothing (it used to do nothing and say nothing)', async () => {
		const ui = await open({readOnly: true, readOnlyReason: '--read-only'});
		await ui.press('p');
		expect(ui.frame()).toContain('read-only (--read-only): promote is not available');
		await ui.press('r');
		expect(ui.frame()).toContain('read-only (--read-only): roll back is not available');
		await ui.press('+');
		expect(ui.frame()).toContain('read-only (--read-only): canary weight up by a step is not available');
		expect(ui.sources.cluster.calls).toEqual([]);
	});

	it('the palette lists the dangerous commands with why they are not available', async () => {
		const ui = await open({readOnly: true, readOnlyReason: '--read-only', width: 160});
		await ui.press(':');
		await ui.type('promote');
		expect(ui.frame()).toMatch(/Promote: all traffic to the canary.*not in read-only \(--read-only\)/);
		await ui.press('enter');
		expect(ui.frame()).toContain('read-only (--read-only): promote is not available');
		expect(ui.sources.cluster.calls).toEqual([]);
	});
});

describe('read-only per context', () => {
	it('switching into a context that settings mark read-only removes the dangerous keys there', async () => {
		const ui = await open({readOnlyForContext: (context) => (context === 'staging' ? 'settings for context staging' : undefined)});
		expect(ui.frame()).not.toContain('read-only');
		await ui.press('c', 'down', 'enter');
		await settle(50);
		expect(ui.frame()).toContain('read-only (settings for context staging)');
		await ui.press('+');
		expect(ui.frame()).not.toContain('→');
		expect(ui.frame()).toContain('read-only (settings for context staging): canary weight up by a step is not available');
		await ui.press('c', 'up', 'enter');
		await settle(50);
		expect(ui.frame()).not.toContain('READ-ONLY');
		await ui.press('+');
		expect(ui.frame()).toContain('→');
	});
});

describe('overlays', () => {
	it('? shows every key from the registry', async () => {
		const ui = await open({width: 160, height: 50});
		await ui.press('?');
		for (const command of commands) {
			// Dialog keys share one line: keys and a word each.
			if (command.scope === 'dialog') expect(ui.frame()).toContain(`${command.keys.map(displayKey).join(' ')} ${command.hint}`);
			else expect(ui.frame()).toContain(command.description.slice(0, 30));
		}
		await ui.press('esc');
		expect(ui.frame()).toContain('MODEL');
	});

	it('dialog keys are commands of the registry: shown in ? and overridable in settings', async () => {
		const ui = await open({metrics: false, width: 160, height: 50, keyOverrides: {'dialog.yes': ['o'], 'dialog.cancel': ['esc', 'x']}});
		await ui.press('?');
		expect(ui.frame()).toContain('o yes');
		expect(ui.frame()).toContain('esc x cancel');
		await ui.press('esc', '+');
		expect(ui.frame()).toContain('canary v13: 10% → 20%');
		await ui.press('y', 'n'); // no longer bound in a dialog
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual([]);
		expect(ui.frame()).toContain('canary v13: 10% → 20%');
		await ui.press('x');
		expect(ui.frame()).not.toContain('canary v13: 10% → 20%');
		await ui.press('+', 'o');
		await settle(50);
		expect(ui.sources.cluster.calls).toContain('weight fraud-detector v13 20');
	});

	it('dialogs name the keys in force, overrides included', async () => {
		const ui = await open({keyOverrides: {'dialog.accept': ['ctrl+o', 'enter'], 'dialog.cancel': ['ctrl+g']}});
		await ui.press('w');
		expect(ui.frame()).toContain('ctrl+o to review · ctrl+g cancel');
	});

	it('the confirmation names the keys in force, overrides included (it said y/enter and n/esc whatever was bound)', async () => {
		const ui = await open({
			metrics: false,
			keyOverrides: {'dialog.yes': ['o', 'O'], 'dialog.accept': ['ctrl+o'], 'dialog.cancel': ['ctrl+g', 'x']},
		});
		await ui.press('+');
		const dialog = await ui.waitFor('canary v13: 10% → 20%');
		expect(dialog).toContain('o/ctrl+o confirm · ctrl+g/x cancel');
		expect(dialog).not.toMatch(/\by\/enter|n\/esc/);
		await ui.press('x');
		expect(ui.frame()).not.toContain('canary v13: 10% → 20%');
	});

	it('behind the danger gate the hint names only the keys that do not type: overrides included', async () => {
		const ui = await open({keyOverrides: {'dialog.accept': ['ctrl+o', 'a'], 'dialog.cancel': ['x', 'ctrl+g']}});
		await ui.waitFor(/v13.*✖/);
		await ui.press('+');
		const dialog = await ui.waitFor('DANGER');
		expect(dialog).toContain('ctrl+o confirm once typed · ctrl+g cancel');
		expect(dialog).not.toContain('enter confirm once typed');
		await ui.press('x'); // typed behind the gate, not a cancel
		expect(ui.frame()).toContain('DANGER');
		await ui.press('\u0007'); // ctrl+g as the terminal sends it
		expect(ui.frame()).not.toContain('DANGER');
	});

	it('the palette finds a model by fuzzy search and opens it', async () => {
		const ui = await open();
		await ui.press(':');
		await ui.type('recmd');
		expect(ui.frame()).toContain('open recommender');
		await ui.press('enter');
		expect(ui.frame()).toContain('STABLE v2');
	});

	it('x shows the query behind every figure', async () => {
		const ui = await open();
		await ui.press('enter', 'x');
		expect(ui.frame()).toContain('histogram_quantile(0.99');
	});

	it('c switches context', async () => {
		const ui = await open();
		await ui.press('c', 'down', 'enter');
		await settle(50);
		expect(ui.sources.cluster.calls).toContain('context staging');
		expect(ui.frame()).toContain('staging');
	});
});

describe('prediction log', () => {
	it('tails predictions, pauses, and filters by status', async () => {
		const ui = await open({agent: true});
		await ui.press('l');
		ui.sources.agent!.emit([prediction({requestId: 'req-ok'}), prediction({requestId: 'req-bad', status: 'error', code: 500})]);
		await settle(1100);
		expect(ui.frame()).toContain('req-ok');
		expect(ui.frame()).toContain('req-bad');
		await ui.press('e');
		expect(ui.frame()).not.toContain('req-ok');
		expect(ui.frame()).toContain('status=error');
		await ui.press('space');
		expect(ui.frame()).toContain('PAUSED');
		ui.sources.agent!.emit([prediction({requestId: 'req-late', status: 'error'})]);
		await settle(1100);
		expect(ui.frame()).not.toContain('req-late');
	});

	it('shows control characters from the stream instead of sending them to the terminal', async () => {
		const ui = await open({agent: true});
		await ui.press('l');
		ui.sources.agent!.emit([prediction({requestId: 'req-esc', inputSummary: 'x\u001b[2Jy', outputSummary: 'bell\u0007'})]);
		await settle(1100);
		const line = ui
			.frame()
			.split('\n')
			.find((row) => row.includes('req-esc'))!;
		expect(line).toContain('x�[2Jy → bell�');
		expect(line).not.toContain('\u001b[2J');
		expect(line).not.toContain('\u0007');
	});

	it('finds a prediction by request id', async () => {
		const ui = await open({agent: true});
		await ui.press('l', 'f');
		await ui.type('req-42');
		await ui.press('enter');
		await settle(30);
		expect(ui.frame()).toContain('fraud=0.1');
	});

	it('without an agent the log says why it is unavailable', async () => {
		const ui = await open();
		await ui.press('l');
		expect(ui.frame()).toContain('no prediction log');
	});
});

describe('degraded sources', () => {
	it('keeps the last data marked stale when Prometheus fails, and says why', async () => {
		const ui = await open({refreshSeconds: 0.05});
		await ui.waitFor('180');
		ui.sources.metrics!.failWith = 'connect ECONNREFUSED 127.0.0.1:9090';
		await settle(250);
		expect(ui.frame()).toContain('prom:stale');
		expect(ui.frame()).toContain('ECONNREFUSED');
		expect(ui.frame()).toContain('180');
	});

	it('shows the cluster down with its reason', async () => {
		const ui = await open();
		ui.sources.cluster.fail('API server https://127.0.0.1:6443 unreachable: ECONNREFUSED');
		await settle();
		expect(ui.frame()).toContain('cluster:stale');
		expect(ui.frame()).toContain('unreachable');
	});
});

it('q quits', async () => {
	const ui = await open();
	await ui.press('q');
	expect(ui.store.getState().quitting).toBe(true);
});

/** search-ranker as the demo has it: a stable and two canaries. */
function searchRanker(): Model {
	const version = (name: string, track: 'stable' | 'canary', weight: number, created: string) => ({
		name,
		track,
		weight,
		replicasReady: 2,
		replicasDesired: 2,
		restarts: 0,
		image: `registry.local/ranker:${name}`,
		created,
	});
	return {
		namespace: 'ml-serving',
		name: 'search-ranker',
		router: 'httproute',
		routerObject: 'HTTPRoute/search-ranker',
		versions: [
			version('v7', 'stable', 80, '2026-11-01T10:00:00Z'),
			version('v8', 'canary', 15, '2026-11-20T10:00:00Z'),
			version('v8-distilled', 'canary', 5, '2026-11-21T10:00:00Z'),
		],
	};
}

/** The fleet with search-ranker (three versions) added, without metrics. */
async function openWithSearchRanker(options: Parameters<typeof open>[0] = {}) {
	const sources = fakeSources({metrics: false});
	sources.cluster.models.push(searchRanker());
	const ui = await open({sources, ...options});
	return {sources, ui};
}

/** The dialog's plan for all of search-ranker's traffic to v8: every version that moves. */
function expectAllTrafficToV8(dialog: string): void {
	expect(dialog).toContain('stable v7: 80% → 0%');
	expect(dialog).toContain('canary v8: 15% → 100%');
	// v8-distilled used to go 5% → 0% without being shown.
	expect(dialog).toContain('canary v8-distilled: 5% → 0%');
}

describe('plans: the dialog lists every version a change moves', () => {
	it('promote on a model with three versions lists all three, and the audit and result say the same', async () => {
		const {sources, ui} = await openWithSearchRanker({width: 200, height: 40});
		await ui.press('G', 'k'); // search-ranker v8
		expect(ui.frame()).toMatch(/›\s+v8\b/);
		await ui.press('p');
		await ui.waitFor('Promote search-ranker canary v8?');
		expectAllTrafficToV8(ui.frame());
		await ui.press('y');
		await settle(50);
		expect(sources.cluster.calls).toEqual(['promote search-ranker v8']);
		expect(ui.frame()).toContain('search-ranker: v7 80% → 0%, v8 15% → 100%, v8-distilled 5% → 0%');
		await ui.press('a');
		await settle(50);
		expect(ui.frame()).toContain('v7 80%, v8 15%, v8-distilled 5% → v7 0%, v8 100%, v8-distilled 0%');
	});

	it('b on a model with three versions asks which version gets all traffic (it picked "the other" one itself)', async () => {
		const {sources, ui} = await openWithSearchRanker({width: 200, height: 40, keyOverrides: {'dialog.up': ['ctrl+p']}});
		await ui.press('G'); // search-ranker v8-distilled
		await ui.press('b');
		const pick = await ui.waitFor('all traffic to which version?');
		expect(pick).toContain('Blue-green switch search-ranker: all traffic to which version?');
		expect(pick).toMatch(/v7\s+stable\s+80%/);
		expect(pick).toMatch(/v8\s+canary\s+15%/);
		expect(pick).toMatch(/v8-distilled\s+canary\s+5%/);
		expect(sources.cluster.calls).toEqual([]);
		// The cursor starts on the version the fleet's cursor was on; the registry's dialog keys move it.
		await ui.press('\u0010'); // ctrl+p, dialog.up here
		await ui.press('enter');
		await ui.waitFor('Switch search-ranker traffic to v8?');
		expectAllTrafficToV8(ui.frame());
		await ui.press('y');
		await settle(50);
		expect(sources.cluster.calls).toEqual(['switch search-ranker v8']);
	});

	it('b on a model with two versions still switches to the other at once, and esc leaves the pick without a change', async () => {
		const {sources, ui} = await openWithSearchRanker({width: 200, height: 40});
		await ui.press('b'); // fraud-detector: v12 90%, v13 10%
		await ui.waitFor('Switch fraud-detector traffic to v13?');
		await ui.press('esc', 'G', 'b');
		await ui.waitFor('all traffic to which version?');
		await ui.press('esc');
		expect(ui.frame()).not.toContain('all traffic to which version?');
		await settle(50);
		expect(sources.cluster.calls).toEqual([]);
	});

	it('a change that changes nothing is refused with a message: no dialog, no write, no audit', async () => {
		const sources = fakeSources({metrics: false});
		sources.cluster.models[0]!.versions[0]!.weight = 100;
		sources.cluster.models[0]!.versions[1]!.weight = 0;
		const ui = await open({sources});
		await ui.press('j'); // fraud-detector v13, at 0%
		await ui.press('r');
		await ui.waitFor('nothing to change');
		expect(ui.frame()).not.toContain('0% → 0%');
		expect(ui.frame()).not.toContain('Roll back fraud-detector canary v13?');
		await ui.press('-');
		await ui.waitFor(/nothing to change: fraud-detector is already there/);
		await ui.press('w');
		await ui.type('0');
		await ui.press('enter');
		await ui.waitFor('nothing to change');
		expect(ui.frame()).not.toContain('0% → 0%');
		expect(sources.cluster.calls).toEqual([]);
		await ui.press('a');
		expect(ui.frame()).not.toContain('set-weight');
		expect(ui.frame()).not.toContain('rollback');
	});

	it('a weight key changes the canary whose row is selected', async () => {
		const {sources, ui} = await openWithSearchRanker();
		await ui.press('G'); // search-ranker v8-distilled
		await ui.press('+');
		await ui.waitFor('Set search-ranker v8-distilled weight to 10%?');
		expect(ui.frame()).toContain('canary v8-distilled: 5% → 10%');
		expect(ui.frame()).toContain('canary v8: 15% (unchanged)');
		expect(ui.frame()).toContain('stable v7: 80% → 75%');
	});
});

describe('danger gate', () => {
	it('more traffic to a critical canary shows the evidence first and needs the model name typed; enter alone does nothing', async () => {
		const ui = await open();
		await ui.waitFor(/v13.*✖/);
		await ui.press('+');
		const dialog = await ui.waitFor('DANGER');
		// The danger and its evidence come before what the change does.
		expect(dialog.indexOf('DANGER: v13 would get more traffic (10% → 20%)')).toBeGreaterThan(-1);
		expect(dialog).toMatch(/critical: canary p99 900 ms is \d+% worse than stable 80 ms/);
		expect(dialog.indexOf('DANGER')).toBeLessThan(dialog.indexOf('canary v13: 10% → 20%'));
		await ui.press('enter');
		expect(ui.frame()).toContain('type fraud-detector to go ahead despite the above');
		await ui.press('y'); // not a confirmation behind the gate: it is typed
		await ui.press('enter');
		expect(ui.frame()).toContain('"y" is not fraud-detector');
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual([]);
		await ui.press('backspace');
		await ui.type('fraud-detector');
		await ui.press('enter');
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual(['weight fraud-detector v13 20']);
	});

	it('esc cancels behind the gate; less traffic to the flagged canary needs no gate', async () => {
		const ui = await open();
		await ui.waitFor(/v13.*✖/);
		await ui.press('p');
		await ui.waitFor('DANGER');
		await ui.press('esc');
		expect(ui.frame()).not.toContain('DANGER');
		await ui.press('r');
		await ui.waitFor('Roll back fraud-detector canary v13?');
		expect(ui.frame()).not.toContain('DANGER');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.cluster.calls).toEqual(['rollback fraud-detector v13']);
	});
});

describe('more keys', () => {
	it('b switches all traffic to the other version after confirmation', async () => {
		const ui = await open({metrics: false});
		await ui.press('b');
		expect(ui.frame()).toContain('stable v12: 90% → 0%');
		expect(ui.frame()).toContain('canary v13: 10% → 100%');
		await ui.press('y');
		await settle(50);
		expect(ui.sources.cluster.calls).toContain('switch fraud-detector v13');
	});

	it('n picks a namespace and a (all namespaces) the audit view records direct actions', async () => {
		const ui = await open({metrics: false});
		await ui.press('n');
		expect(ui.frame()).toContain('all namespaces');
		expect(ui.frame()).toContain('staging');
		await ui.press('esc');
		await ui.press('+', 'y');
		await settle(50);
		await ui.press('a');
		expect(ui.frame()).toContain('Audit log');
		expect(ui.frame()).toMatch(/set-weight\s+prod\/fraud-detector\s+v12 90%, v13 10% → v12 80%, v13 20%/);
		// No agent checked who acted: the entry names the context's kubeconfig user.
		expect(ui.frame()).toContain('alice@prod-cluster');
	});

	it('v and L filter the log by version and by latency', async () => {
		const ui = await open({agent: true});
		await ui.press('enter', 'l');
		ui.sources.agent!.emit([
			prediction({requestId: 'req-v12-fast', version: 'v12', latencyMs: 20}),
			prediction({requestId: 'req-v13-slow', version: 'v13', latencyMs: 700}),
		]);
		await settle(1100);
		await ui.press('v');
		expect(ui.frame()).toContain('version=v12');
		expect(ui.frame()).toContain('req-v12-fast');
		expect(ui.frame()).not.toContain('req-v13-slow');
		await ui.press('v', 'v'); // v13, then all versions
		await ui.press('L', 'L', 'L', 'L', 'L'); // 50, 100, 250, 500, 1000 ms
		expect(ui.frame()).toContain('latency≥1000ms');
		expect(ui.frame()).not.toContain('req-v13-slow');
		await ui.press('L'); // back to no latency filter
		expect(ui.frame()).toContain('req-v13-slow');
	});

	it('g and G jump to the first and last rows; the model view shows autoscaler and resources', async () => {
		const ui = await open();
		await ui.press('G');
		expect(ui.frame()).toMatch(/›\s*recommender/);
		await ui.press('g', 'enter');
		expect(ui.frame()).toContain('lim 1.00/1.0Gi');
	});
});

it('keys typed faster than a frame arrive as one chunk and are all handled in order', async () => {
	const ui = await open();
	ui.stdin.write('j\r');
	await settle(50);
	expect(ui.frame()).toContain('CANARY v13');
});

it('asks for history over a range that ends on a multiple of the step, so that refreshes share their points', async () => {
	const before = Date.now();
	const ui = await open();
	await ui.waitFor('✖');
	const ranges = ui.sources.metrics!.ranges;
	expect(ranges.length).toBeGreaterThan(0);
	// 10 minutes of history at 120 points: a 5 s step.
	const [range] = ranges;
	expect(range!.stepSeconds).toBe(5);
	expect(range!.end % 5000).toBe(0);
	expect(range!.end).toBeGreaterThan(before - 5000);
	expect(range!.end).toBeLessThanOrEqual(Date.now());
	expect(range!.end - range!.start).toBe(600_000);
});

/** An agent that exists but cannot be reached: its stream reports a connection error. */
class DownAgent extends FakeAgent {
	override predictions(_filter: unknown, _fromSeq: number | undefined, onEvent: (event: AgentEvent) => void) {
		onEvent({type: 'connection', connected: false, reason: 'connect ECONNREFUSED 10.0.0.7:8080'});
		return () => undefined;
	}
}

describe('the agent: absent, down, and one per context', () => {
	it('without an agent in the cluster the header says so, and a change goes straight to the cluster and is audited here', async () => {
		const sources = fakeSources({metrics: false});
		const ui = await open({sources: {...sources, agent: new LazyAgentPort(async () => undefined, 'agent', 'prod-cluster')}});
		await ui.waitFor('no agent: direct changes, no prediction log');
		expect(ui.frame()).toContain('no modeldeck agent found in context prod-cluster');
		await ui.press('+');
		expect(ui.frame()).toContain('no agent: straight to the cluster as alice@prod-cluster, audited in this console only');
		await ui.press('y');
		await settle(50);
		expect(sources.cluster.calls).toContain('weight fraud-detector v13 20');
		await ui.press('a');
		await settle(50);
		// Loading the (absent) agent's audit must not wipe the console's own entries.
		expect(ui.frame()).toMatch(/set-weight\s+prod\/fraud-detector\s+v12 90%, v13 10% → v12 80%, v13 20%/);
		expect(ui.frame()).toContain('alice@prod-cluster');
	});

	it('with the agent down, a change says before it is confirmed that it bypasses the agent, and the console audits it', async () => {
		const sources = fakeSources({metrics: false});
		const agent = new DownAgent();
		agent.audits = [
			{
				time: Date.now() - 60_000,
				user: 'bob',
				action: 'rollback',
				target: 'prod/ranker',
				before: 'v3 20%',
				after: 'v3 0%',
				result: 'ok',
				message: 'earlier',
			},
		];
		const ui = await open({sources: {...sources, agent}});
		await ui.waitFor('agent down: connect ECONNREFUSED');
		await ui.press('+');
		expect(ui.frame()).toContain('agent down: straight to the cluster as alice@prod-cluster, audited in this console only');
		await ui.press('y');
		await settle(50);
		expect(agent.actions).toEqual([]);
		expect(sources.cluster.calls).toContain('weight fraud-detector v13 20');
		await ui.press('a');
		await settle(50);
		expect(ui.frame()).toMatch(/set-weight\s+prod\/fraud-detector\s+v12 90%, v13 10% → v12 80%, v13 20%/);
		expect(ui.frame()).toMatch(/rollback\s+prod\/ranker/);
	});

	it('switching context ends the old agent’s stream and acts through the new context’s agent', async () => {
		const sources = fakeSources({metrics: false});
		const agents: Record<string, FakeAgent> = {'prod-cluster': new FakeAgent(), staging: new FakeAgent()};
		const looked: Array<string | undefined> = [];
		const agent = new LazyAgentPort(
			async (context) => {
				looked.push(context);
				return agents[context ?? ''];
			},
			'agent',
			'prod-cluster',
		);
		const ui = await open({sources: {...sources, agent}});
		await ui.waitFor('agent:ok');
		await ui.press('+', 'y');
		await settle(50);
		expect(agents['prod-cluster']!.actions).toHaveLength(1);
		await ui.press('c', 'down', 'enter');
		await settle(50);
		expect(looked).toEqual(['prod-cluster', 'staging']);
		expect(agents['prod-cluster']!.listener).toBeUndefined();
		expect(agents['staging']!.listener).toBeDefined();
		await ui.press('+', 'y');
		await settle(50);
		expect(agents['staging']!.actions).toHaveLength(1);
		expect(agents['prod-cluster']!.actions).toHaveLength(1);
	});

	it('a context without an agent after one with: the header says so and changes go straight to its cluster', async () => {
		const sources = fakeSources({metrics: false});
		const prod = new FakeAgent();
		const agent = new LazyAgentPort(
			async (context) =>
				context === 'prod-cluster' ? prod : {absent: '--agent http://10.0.0.7 is the agent of context prod-cluster, not of staging'},
			'agent',
			'prod-cluster',
		);
		const ui = await open({sources: {...sources, agent}, width: 160});
		await ui.waitFor('agent:ok');
		await ui.press('c', 'down', 'enter');
		await ui.waitFor(
			'no agent: direct changes, no prediction log — --agent http://10.0.0.7 is the agent of context prod-cluster, not of staging',
		);
		await ui.press('+', 'y');
		await settle(50);
		expect(prod.actions).toEqual([]);
		expect(sources.cluster.calls).toContain('weight fraud-detector v13 20');
	});

	it('shows the guard’s rollback when the agent reports it', async () => {
		const ui = await open({agent: true});
		ui.sources.agent!.listener?.({
			type: 'guard',
			seq: 7,
			model: {namespace: 'prod', name: 'fraud-detector'},
			verdict: 'fail',
			rolledBack: true,
			message: 'rolled back v13: p99 latency 212 ms against 48 ms for stable, 3 failing verdicts in a row',
		});
		await settle(50);
		expect(ui.frame()).toContain('guard: fraud-detector: rolled back v13: p99 latency 212 ms');
	});
});
