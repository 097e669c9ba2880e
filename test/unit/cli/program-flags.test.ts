/**
 * Every program's flags come from a table (source/flags/parse.ts): the agent, its load-test worker and the model server
 * parse with the same parser as the console, and their --help is made from the same tables.
 */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {agentFlags, agentUsage, loadtestWorkerFlags} from '../../../source/agent/flags.ts';
import {parseAgentFlags} from '../../../source/agent/main.ts';
import {parseRolloutArgs, rolloutFlags, rolloutUsage} from '../../../source/commands/rollout-args.ts';
import {type FlagDef, parseFlags} from '../../../source/flags/parse.ts';
import {MODEL_SERVER_USAGE, modelServerFlags, parseModelServerArgs} from '../../../source/model-server/main.ts';

const tables: Array<[string, readonly FlagDef[], string]> = [
	['agent', agentFlags, agentUsage],
	['agent loadtest-worker', loadtestWorkerFlags, agentUsage],
	['model-server', modelServerFlags, MODEL_SERVER_USAGE],
	['rollout', rolloutFlags, rolloutUsage],
];

describe('program flag tables', () => {
	it.each(tables)('%s: the help lists every flag of the table with its placeholder', (_, table, usage) => {
		for (const flag of table) expect(usage).toContain(`--${flag.name}${flag.value ? ` ${flag.value}` : ''}`);
	});

	it.each(tables)('%s: any mix of its flags with values parses, the last value of each winning', (_, table) => {
		const valueFlags = table.filter((flag) => flag.value);
		fc.assert(
			fc.property(fc.array(fc.tuple(fc.constantFrom(...valueFlags), fc.stringMatching(/^[a-z0-9:./]{1,12}$/)), {maxLength: 8}), (given) => {
				const parsed = parseFlags(
					given.flatMap(([flag, value]) => [`--${flag.name}`, value]),
					table,
				);
				if ('errors' in parsed) throw new Error(parsed.errors.join('; '));
				for (const [flag] of given) {
					const last = given.filter(([other]) => other === flag).at(-1)![1];
					expect(parsed.values.get(flag.name)).toBe(last);
				}
			}),
		);
	});

	it('the agent takes --allow-ip several times and keeps every one', () => {
		const parsed = parseAgentFlags(['--allow-ip', '10.0.0.0/8', '--allow-ip=192.168.1.0/24', '--no-auth']);
		if (parsed.help) throw new Error('help');
		expect(parsed.flags.allowIps).toEqual(['10.0.0.0/8', '192.168.1.0/24']);
		expect(parsed.flags.noAuth).toBe(true);
	});

	it('the agent names an unknown flag and the closest known one', () => {
		expect(() => parseAgentFlags(['--retention-hour', '3'])).toThrow(/Unknown flag --retention-hour\. Did you mean --retention-hours\?/);
		expect(() => parseAgentFlags(['--db'])).toThrow(/--db needs a value: --db PATH/);
		expect(() => parseAgentFlags(['stray'])).toThrow(/takes flags only, not "stray"/);
	});

	it('the model server reads a negative knob after its flag as its value', () => {
		const parsed = parseModelServerArgs(['--output-drift', '-1.5', '--latency-ms=20']);
		expect(parsed).toMatchObject({ok: true, options: {knobs: {outputDrift: -1.5, latencyMs: 20}}});
		expect(parseModelServerArgs(['--latncy-ms', '5'])).toMatchObject({
			ok: false,
			message: expect.stringMatching(/Did you mean --latency-ms\?/),
		});
	});

	it("rollout takes a pipeline's unset variable (an empty --prometheus, --agent, --context or --kubeconfig) as not given", () => {
		const parsed = parseRolloutArgs(['fraud', '--image', 'r/fraud:v2', '--prometheus', '', '--agent=', '--context', '']);
		expect(parsed).toMatchObject({args: {model: 'fraud', image: 'r/fraud:v2'}});
		if ('args' in parsed) expect(parsed.args).not.toHaveProperty('prometheus');
		// Not so for a flag whose value is needed: an empty image is refused, saying how to give one.
		expect(parseRolloutArgs(['fraud', '--image', ''])).toMatchObject({usageError: expect.stringMatching(/--image needs a value/)});
	});
});
