import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {imageTag, parseDuration, parseRolloutArgs} from '../../../source/commands/rollout-args.ts';
import {deliverySpecProblems} from '../../../source/domain/delivery.ts';

const parse = (line: string) => parseRolloutArgs(line.split(' ').filter(Boolean));

describe('modeldeck rollout flags', () => {
	it('reads a full command line', () => {
		expect(
			parse(
				'ml/fraud --image registry:5000/fraud:v13 --steps 10,50,100 --pause 1m30s --ready-timeout 5m --max-holds 1 --wait --output json',
			),
		).toEqual({
			args: {
				namespace: 'ml',
				model: 'fraud',
				image: 'registry:5000/fraud:v13',
				version: 'v13',
				steps: [10, 50, 100],
				pauseSeconds: 90,
				readyTimeoutSeconds: 300,
				maxHolds: 1,
				wait: true,
				output: 'json',
				abort: false,
				foreground: false,
				help: false,
			},
		});
		expect(parse('fraud --image=r/fraud:v2 -n team-a --version 2.0.1')).toMatchObject({
			args: {namespace: 'team-a', version: '2.0.1', steps: [5, 25, 50, 100], pauseSeconds: 120},
		});
		expect(parse('fraud --abort --wait')).toMatchObject({args: {abort: true, wait: true}});
	});

	it('says how to fix every bad flag', () => {
		const error = (line: string) => {
			const parsed = parse(line);
			return 'usageError' in parsed ? parsed.usageError : 'accepted';
		};

		expect(error('--image r/f:v2')).toMatch(/which model\? give MODEL or NAMESPACE\/MODEL/);
		expect(error('fraud')).toMatch(/--image registry\/fraud:v13/);
		expect(error('fraud --image r/fraud')).toMatch(/no tag to name the version by: add --version V/);
		expect(error('fraud --image r/fraud@sha256:abc')).toMatch(/add --version V/);
		expect(error('fraud --image r/f:v2 --steps 50,10')).toMatch(/--steps: steps must go up: 50 then 10/);
		expect(error('fraud --image r/f:v2 --steps five')).toMatch(/--steps: "five" is not a list of weights/);
		expect(error('fraud --image r/f:v2 --pause soon')).toMatch(/--pause "soon" is not a duration: use e.g. 90s, 2m/);
		expect(error('fraud --image r/f:v2 --max-holds -1')).toMatch(/--max-holds needs a value|--max-holds "-1"/);
		expect(error('fraud --image r/f:V2')).toMatch(/--version: "V2" is not a version name/);
		expect(error('fraud --image r/f:v2 --output yaml')).toMatch(/--output is text or json/);
		expect(error('fraud --image r/f:v2 --colour')).toMatch(/Unknown flag --colour\. Run modeldeck rollout --help for the list/);
		expect(error('fraud --image r/f:v2 --wiat')).toMatch(/Did you mean --wait\?/);
		expect(error('fraud --image')).toMatch(/--image needs a value: --image IMAGE/);
		expect(error('ml/fraud -n other --image r/f:v2')).toMatch(/namespace ml but --namespace says other/);
		expect(error('fraud --abort --image r/f:v2')).toMatch(/--abort stops a rollout; --image is for starting one/);
		expect(error('fraud other --image r/f:v2')).toMatch(/one model at a time/);
		expect(error('fraud --image r/f:v2 --agent localhost')).toMatch(/--agent takes a URL like http:\/\/localhost:8090/);
	});

	it('for any command line: a usage error that says what to do, or a spec the domain accepts', () => {
		const word = fc.oneof(
			fc.constantFrom(
				'fraud',
				'ml/fraud',
				'--image',
				'r/fraud:v2',
				'--steps',
				'5,25,100',
				'--pause',
				'2m',
				'--wait',
				'--output',
				'json',
				'--abort',
				'-n',
				'ml',
				'--max-holds',
				'3',
				'--version',
				'v9',
				'--ready-timeout',
				'0',
				'--',
				'-h',
			),
			fc.string({maxLength: 12}),
		);
		fc.assert(
			fc.property(fc.array(word, {maxLength: 12}), (argv) => {
				const parsed = parseRolloutArgs(argv);
				if ('usageError' in parsed) {
					expect(parsed.usageError.length).toBeGreaterThan(10);
					return;
				}

				const {args} = parsed;
				if (args.help || args.abort) return;
				expect(
					deliverySpecProblems({
						model: {namespace: args.namespace ?? 'default', name: args.model},
						image: args.image!,
						version: args.version!,
						steps: args.steps,
						pauseSeconds: args.pauseSeconds,
						readyTimeoutSeconds: args.readyTimeoutSeconds,
						maxHolds: args.maxHolds,
						requestedBy: '',
					}),
				).toEqual([]);
			}),
			{numRuns: 3000},
		);
	});
});

describe('parseDuration and imageTag', () => {
	it('reads durations and image tags', () => {
		expect([
			parseDuration('90'),
			parseDuration('90s'),
			parseDuration('2m'),
			parseDuration('1h'),
			parseDuration('1m30s'),
			parseDuration('2 m'),
			parseDuration(''),
		]).toEqual([90, 90, 120, 3600, 90, undefined, undefined]);
		expect([imageTag('fraud:v1'), imageTag('registry:5000/fraud'), imageTag('r/fraud@sha256:1')]).toEqual(['v1', undefined, undefined]);
		fc.assert(
			fc.property(fc.string(), (text) => {
				const seconds = parseDuration(text);
				expect(seconds === undefined || (Number.isInteger(seconds) && seconds >= 0)).toBe(true);
			}),
		);
	});
});
