import * as hdr from 'hdr-histogram-js';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {arrivalSchedule, createLatencyHistogram, percentileMs} from '../../../source/agent/actions/load-generator.ts';
import {
	buildLoadTestJob,
	mergeWorkerResults,
	parseWorkerOutput,
	toLoadTestResult,
	workerArgs,
	workerResult,
	workersFor,
} from '../../../source/agent/actions/load-job.ts';
import {buildInferenceRequest, checkInferenceResponse, parseModelMetadata} from '../../../source/agent/actions/oip.ts';
import {describeAction, parseAction} from '../../../source/agent/actions/validate.ts';

const metadata = {
	name: 'fraud',
	versions: ['v2'],
	platform: 'modeldeck',
	inputs: [{name: 'features', datatype: 'FP32', shape: [-1, 4]}],
	outputs: [{name: 'probability', datatype: 'FP32', shape: [-1, 1]}],
};

describe('load-test percentiles', () => {
	it('are ordered and never above the largest latency recorded (HdrHistogram answers with the top of a bucket)', () => {
		fc.assert(
			fc.property(fc.array(fc.integer({min: 1, max: 60_000_000}), {minLength: 1, maxLength: 200}), (micros) => {
				const histogram = createLatencyHistogram();
				for (const value of micros) histogram.recordValue(value);
				const [p50, p95, p99] = [50, 95, 99].map((percentile) => percentileMs(histogram, percentile));
				const max = Math.max(...micros) / 1000;
				expect(p50).toBeLessThanOrEqual(p95!);
				expect(p95).toBeLessThanOrEqual(p99!);
				expect(p99).toBeLessThanOrEqual(max);
				histogram.destroy();
			}),
		);
	});
});

describe('OIP v2 smoke-test logic', () => {
	it('reads metadata and says what is missing', () => {
		expect(parseModelMetadata(metadata)).toEqual(metadata);
		expect(parseModelMetadata({name: 'x', inputs: [{name: 'a', datatype: 'FP32'}], outputs: []})).toBe(
			'inputs[0] (a) has no valid shape (a list of sizes, -1 for any)',
		);
		expect(parseModelMetadata([])).toBe('the metadata is not a JSON object');
	});

	it('builds a request with one row of values of each declared type', () => {
		const request = buildInferenceRequest({
			name: 'm',
			inputs: [
				{name: 'x', datatype: 'FP32', shape: [-1, 3]},
				{name: 'ids', datatype: 'INT64', shape: [2]},
				{name: 'flag', datatype: 'BOOL', shape: [1]},
				{name: 'text', datatype: 'BYTES', shape: [-1]},
			],
			outputs: [],
		});
		expect(request).toEqual({
			inputs: [
				{name: 'x', shape: [1, 3], datatype: 'FP32', data: [0.1, 0.47, 0.84]},
				{name: 'ids', shape: [2], datatype: 'INT64', data: [1, 1]},
				{name: 'flag', shape: [1], datatype: 'BOOL', data: [true]},
				{name: 'text', shape: [1], datatype: 'BYTES', data: ['modeldeck smoke test']},
			],
		});
		expect(buildInferenceRequest({name: 'm', inputs: [], outputs: []})).toMatch(/declares no inputs/);
	});

	it('checks that an integer output holds integers its datatype can hold', () => {
		const classes = {name: 'm', inputs: metadata.inputs, outputs: [{name: 'label', datatype: 'UINT8', shape: [-1]}]};
		const values = (data: number[]) =>
			checkInferenceResponse(classes, {outputs: [{name: 'label', datatype: 'UINT8', shape: [data.length], data}]}).at(-1);
		expect(values([0, 3, 255])).toEqual({name: 'output label values', ok: true, detail: "3 integers in UINT8's range"});
		expect(values([1, 256])).toEqual({name: 'output label values', ok: false, detail: '256 is not a UINT8 (integers 0…255)'});
		expect(values([1, -1])).toMatchObject({ok: false, detail: '-1 is not a UINT8 (integers 0…255)'});
		expect(values([0.5])).toMatchObject({ok: false, detail: '0.5 is not a UINT8 (integers 0…255)'});
	});

	it('checks presence, datatype, shape and range of every declared output', () => {
		const parsed = parseModelMetadata(metadata) as Exclude<ReturnType<typeof parseModelMetadata>, string>;
		const good = checkInferenceResponse(parsed, {outputs: [{name: 'probability', datatype: 'FP32', shape: [1, 1], data: [0.42]}]});
		expect(good.map((check) => [check.name, check.ok])).toEqual([
			['output probability present', true],
			['output probability datatype', true],
			['output probability shape', true],
			['output probability values', true],
		]);
		const bad = checkInferenceResponse(parsed, {outputs: [{name: 'probability', datatype: 'FP64', shape: [1, 2], data: [1.5]}]});
		const miscounted = checkInferenceResponse(parsed, {outputs: [{name: 'probability', datatype: 'FP32', shape: [2, 1], data: [0.5]}]});
		expect(miscounted.find((check) => check.name.endsWith('shape'))?.detail).toBe('shape [2, 1] holds 2 values but data has 1');
		expect(bad.filter((check) => !check.ok).map((check) => check.detail)).toEqual([
			'expected FP32, got FP64',
			'expected [-1, 1], got [1, 2]',
			'probability 1.5 outside [0, 1]',
		]);
		expect(checkInferenceResponse(parsed, {outputs: []})[0]).toEqual({
			name: 'output probability present',
			ok: false,
			detail: 'missing; got no outputs',
		});
		const scores = checkInferenceResponse(
			{...parsed, outputs: [{name: 'score', datatype: 'FP32', shape: [1]}]},
			{outputs: [{name: 'score', datatype: 'FP32', shape: [1], data: [null]}]},
		);
		expect(scores.at(-1)).toEqual({name: 'output score values', ok: false, detail: 'non-finite or non-numeric value null'});
	});
});

describe('load-test Jobs', () => {
	const target = {namespace: 'team-a', name: 'fraud', version: 'v2'};

	it('builds an indexed Job of N hardened workers running the agent image at rps/N each', () => {
		const job = buildLoadTestJob({
			name: 'modeldeck-loadtest-fraud-abc',
			namespace: 'modeldeck',
			image: 'ghcr.io/example/modeldeck:0.1.0',
			workers: 4,
			target,
			url: 'http://fraud-v2.team-a.svc:80/v2/models/fraud/infer',
			body: '{"inputs":[]}',
			rps: 10_000,
			durationSeconds: 60,
			warmupSeconds: 10,
			loadTestId: 'abc',
		});
		expect(job.spec).toMatchObject({
			parallelism: 4,
			completions: 4,
			completionMode: 'Indexed',
			backoffLimit: 0,
			activeDeadlineSeconds: 370,
		});
		const container = job.spec?.template.spec?.containers[0];
		expect(container?.image).toBe('ghcr.io/example/modeldeck:0.1.0');
		expect(container?.args).toEqual(
			workerArgs(
				{target, url: 'http://fraud-v2.team-a.svc:80/v2/models/fraud/infer', body: '{"inputs":[]}', durationSeconds: 60, warmupSeconds: 10},
				2500,
			),
		);
		expect(container?.args?.slice(0, 2)).toEqual(['agent', 'loadtest-worker']);
		expect(container?.args).toContain('2500');
		expect(container?.securityContext).toEqual({
			allowPrivilegeEscalation: false,
			readOnlyRootFilesystem: true,
			capabilities: {drop: ['ALL']},
		});
		expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
		expect(job.metadata?.labels?.['modeldeck.dev/load-test']).toBe('abc');
		expect(() =>
			buildLoadTestJob({
				...{
					name: 'x',
					namespace: 'n',
					image: 'i',
					target,
					url: 'u',
					body: 'b',
					rps: 1,
					durationSeconds: 1,
					warmupSeconds: 0,
					loadTestId: 'i',
				},
				workers: 0,
			}),
		).toThrow(/positive integer/);
		expect([workersFor(100, 2000), workersFor(2000, 2000), workersFor(2001, 2000)]).toEqual([1, 1, 2]);
	});

	it('merges the workers’ histograms exactly: percentiles of all requests', () => {
		const runs = [
			{values: [1000, 2000, 3000], sent: 3},
			{values: [10_000, 20_000], sent: 2},
		].map(({values, sent}, index) => {
			const histogram = createLatencyHistogram();
			for (const value of values) histogram.recordValue(value);
			return {
				label: 'team-a/fraud/v2',
				histogram,
				requests: values.length + index,
				errors: index,
				sentInWindow: sent,
				measuredSeconds: 1,
				errorSamples: index ? ['HTTP 500'] : [],
			};
		});
		const outputs = runs.map((run) => `starting\n${JSON.stringify(workerResult(run))}\n`);
		const parsed = outputs.map((output) => parseWorkerOutput(output));
		const merged = mergeWorkerResults(parsed.filter((result) => typeof result !== 'string'));
		const all = createLatencyHistogram();
		for (const value of [1000, 2000, 3000, 10_000, 20_000]) all.recordValue(value);
		expect(merged.histogram.totalCount).toBe(5);
		for (const percentile of [50, 90, 99, 100])
			expect(merged.histogram.getValueAtPercentile(percentile)).toBe(all.getValueAtPercentile(percentile));
		expect(merged).toMatchObject({requests: 6, errors: 1, sentInWindow: 5, errorSamples: ['HTTP 500']});
		const result = toLoadTestResult(target, merged);
		expect(result).toMatchObject({target, requests: 6, errors: 1, achievedRps: 5});
		expect(result.p50Ms).toBeCloseTo(3, 1);
		expect(result.maxMs).toBeCloseTo(20, 0);
		expect(parseWorkerOutput('no json here')).toBe('the worker printed no result line');
		expect(hdr.decodeFromCompressedBase64((parsed[0] as {histogram: string}).histogram).totalCount).toBe(3);
	});

	it('gives every worker the same start time and waits for it in the Job’s deadline', () => {
		const startAt = Date.parse('2026-03-01T03:00:30.000Z');
		const spec = {
			name: 'j',
			namespace: 'modeldeck',
			image: 'i',
			workers: 2,
			target,
			url: 'http://u',
			body: '{}',
			rps: 100,
			durationSeconds: 60,
			warmupSeconds: 10,
			startAt,
			startDelaySeconds: 30,
			loadTestId: 'x',
			serviceAccountName: 'modeldeck-loadtest',
		};
		const job = buildLoadTestJob(spec);
		const args = job.spec?.template.spec?.containers[0]?.args ?? [];
		expect(args.slice(args.indexOf('--start-at'), args.indexOf('--start-at') + 2)).toEqual(['--start-at', '2026-03-01T03:00:30.000Z']);
		expect(job.spec?.activeDeadlineSeconds).toBe(400);
		expect(job.spec?.template.spec?.serviceAccountName).toBe('modeldeck-loadtest');
	});

	it('merges the achieved rate over the workers’ windows: the sum when they overlap, less when one started late', () => {
		const worker = (sentInWindow: number, windowStart: number) => {
			const histogram = createLatencyHistogram();
			histogram.recordValue(1000);
			const result = workerResult({
				label: 'l',
				histogram,
				requests: sentInWindow,
				errors: 0,
				sentInWindow,
				measuredSeconds: 10,
				windowStart,
				windowEnd: windowStart + 10_000,
				errorSamples: [],
			});
			histogram.destroy();
			return result;
		};

		// Two workers at 500 rps each over the same 10 s: 1,000 rps together.
		const together = mergeWorkerResults([worker(5000, 1_000_000), worker(5000, 1_000_000)]);
		expect(together.measuredSeconds).toBe(10);
		expect(toLoadTestResult(target, together).achievedRps).toBe(1000);
		// One of them 5 s late: 10,000 requests over the 15 s the two windows span, not over 10 s.
		const apart = mergeWorkerResults([worker(5000, 1_000_000), worker(5000, 1_005_000)]);
		expect(apart).toMatchObject({windowStart: 1_000_000, windowEnd: 1_015_000, measuredSeconds: 15});
		expect(toLoadTestResult(target, apart).achievedRps).toBeCloseTo(666.67, 1);
	});
});

describe('parseAction', () => {
	it('accepts every kind of action', () => {
		const model = {namespace: 'team-a', name: 'fraud'};
		for (const action of [
			{kind: 'set-weight', model, canary: 'v2', from: 10, to: 25, resourceVersion: '123'},
			{kind: 'promote', model, canary: 'v2', stable: 'v1'},
			{kind: 'rollback', model, canary: 'v2'},
			{kind: 'switch', model, from: 'v1', to: 'v2'},
			{kind: 'rollout', model, command: 'promote'},
			{kind: 'rollout', model, command: 'promote-full', expected: {v1: 80, v2: 20}},
			{kind: 'rollout', model, command: 'abort'},
			{kind: 'rollout', model, command: 'retry'},
			{kind: 'smoke-test', target: {...model, version: 'v2'}},
			{
				kind: 'load-test',
				targets: [
					{...model, version: 'v1'},
					{...model, version: 'v2'},
				],
				rps: 50,
				durationSeconds: 30,
				warmupSeconds: 5,
			},
		]) {
			expect(parseAction(action)).toEqual(action);
		}
	});

	it('says what is wrong', () => {
		expect(parseAction({kind: 'explode'})).toMatch(/unknown action kind "explode"/);
		expect(parseAction({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 250})).toBe(
			'to: 250 is above 100: type a whole number from 0 to 100',
		);
		// The console's rule (domain/weights.ts parseWeight): whole percentages only, sent as numbers.
		expect(parseAction({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 4.5})).toBe(
			'to: "4.5" is not a weight: type a whole number from 0 to 100',
		);
		expect(parseAction({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: -5, to: 45})).toBe(
			'from: "-5" is not a weight: type a whole number from 0 to 100',
		);
		expect(parseAction({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: '45'})).toBe(
			'to must be a whole number from 0 to 100 (a JSON number), got "45"',
		);
		expect(parseAction({kind: 'rollback', model: {namespace: 'Team A', name: 'fraud'}, canary: 'v2'})).toMatch(
			/model.namespace "Team A" is not a valid Kubernetes name/,
		);
		expect(parseAction({kind: 'load-test', targets: [], rps: 1, durationSeconds: 1})).toMatch(/one version, or two/);
		expect(
			parseAction({
				kind: 'load-test',
				targets: [
					{namespace: 'a', name: 'x', version: '1'},
					{namespace: 'a', name: 'y', version: '2'},
				],
				rps: 1,
				durationSeconds: 1,
			}),
		).toMatch(/same model/);
		expect(parseAction(null)).toMatch(/JSON object/);
		expect(parseAction({kind: 'rollout', model: {namespace: 'team-a', name: 'fraud'}, command: 'pause'})).toBe(
			'command must be one of promote, promote-full, abort, retry',
		);
	});

	it('describes actions for the audit trail', () => {
		expect(describeAction({kind: 'set-weight', model: {namespace: 'team-a', name: 'fraud'}, canary: 'v2', from: 10, to: 25})).toEqual({
			action: 'set-weight v2 10→25%',
			target: 'team-a/fraud',
		});
	});
});

describe('the load generator’s arrival schedule', () => {
	type Plan = Parameters<typeof arrivalSchedule>[0];
	// Counts, per target, the requests sent during the warm-up and in the measured window, and checks they are due in order.
	const count = (plan: Plan, position: number) => {
		const schedule = arrivalSchedule(plan);
		let warmup = 0;
		let measured = 0;
		let inOrder = true;
		for (let index = 0; schedule.due(index, position); index++) {
			if (index > 0 && !(schedule.at(index, position) > schedule.at(index - 1, position))) inOrder = false;
			if (schedule.recorded(index, position)) measured++;
			else warmup++;
		}

		return {warmup, measured, inOrder};
	};

	it('sends exactly rate × duration in the window and rate × warm-up before it, for every target, whatever the start time', () => {
		fc.assert(
			fc.property(
				// performance.now() values: any non-negative time, usually with a fraction.
				fc.double({min: 0, max: 1e9, noNaN: true}),
				fc.integer({min: 1, max: 3000}),
				fc.integer({min: 1, max: 20}),
				fc.integer({min: 0, max: 5}),
				fc.integer({min: 1, max: 4}),
				(start, rps, durationSeconds, warmupSeconds, targets) => {
					const plan = {start, rps, warmupMs: warmupSeconds * 1000, durationMs: durationSeconds * 1000, targets};
					for (let position = 0; position < targets; position++) {
						expect(count(plan, position)).toEqual({warmup: rps * warmupSeconds, measured: rps * durationSeconds, inOrder: true});
					}
				},
			),
			{numRuns: 300},
		);
	});

	it('counts 20 requests in 2 s at 10 rps after a 0.5 s warm-up from the start time that once gave 21', () => {
		// In floating point (start + 500) + 2000 > start + 2500 for this start, so an absolute end let a 21st request in.
		const start = 154.992_099_426_154_43;
		expect(start + 500 + 2000).toBeGreaterThan(start + 2500);
		expect(count({start, rps: 10, warmupMs: 500, durationMs: 2000, targets: 1}, 0)).toEqual({warmup: 5, measured: 20, inOrder: true});
		// Rates whose interval is not exact in binary: 3 × 333.33… ms still lands on the 1 s boundary.
		expect(count({start, rps: 3, warmupMs: 1000, durationMs: 2000, targets: 1}, 0)).toEqual({warmup: 3, measured: 6, inOrder: true});
		expect(count({start, rps: 7, warmupMs: 1000, durationMs: 3000, targets: 2}, 1)).toEqual({warmup: 7, measured: 21, inOrder: true});
	});
});
