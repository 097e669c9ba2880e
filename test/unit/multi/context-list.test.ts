/** `--context a,b` and the settings' `showContexts`: outside input, checked with properties and examples. */
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {chooseContexts, parseContextList} from '../../../source/adapters/multi/context-list.ts';

/** Context names as kubeconfigs have them: no commas, no surrounding spaces, EKS-style colons and slashes allowed. */
const contextName = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9:/@._-]{0,20}$/);

describe('parseContextList', () => {
	it('gives back the names of a comma-separated list, in order, spaces around them dropped', () => {
		fc.assert(
			fc.property(
				fc.uniqueArray(contextName, {minLength: 1, maxLength: 6}),
				fc.array(fc.constantFrom('', ' ', '  '), {minLength: 12, maxLength: 12}),
				(names, spaces) => {
					const text = names.map((name, index) => `${spaces[index]}${name}${spaces[index + 6]}`).join(',');
					expect(parseContextList(text)).toEqual({contexts: names});
				},
			),
		);
	});

	it('refuses any text with an empty name, saying how to write the list', () => {
		fc.assert(
			fc.property(fc.array(contextName, {maxLength: 4}), fc.nat(5), fc.constantFrom('', ' '), (names, at, blank) => {
				const list = [...names];
				list.splice(Math.min(at, list.length), 0, blank);
				const result = parseContextList(list.join(','));
				expect(result).toHaveProperty('error');
				expect((result as {error: string}).error).toContain('--context prod-us,prod-eu');
			}),
		);
	});

	it('refuses a context named twice, naming it', () => {
		fc.assert(
			fc.property(fc.uniqueArray(contextName, {minLength: 1, maxLength: 5}), fc.nat(), (names, pick) => {
				const twice = names[pick % names.length]!;
				const result = parseContextList([...names, twice].join(','));
				expect(result).toEqual({error: expect.stringContaining(`names the context ${twice} twice`)});
			}),
		);
	});

	it('never throws, whatever the text', () => {
		fc.assert(
			fc.property(fc.string({unit: 'binary'}), (text) => {
				const result = parseContextList(text);
				if ('contexts' in result) {
					expect(result.contexts.length).toBeGreaterThan(0);
					for (const name of result.contexts) expect(name).not.toContain(',');
				}
			}),
		);
	});
});

describe('chooseContexts', () => {
	const known = ['prod-us', 'prod-eu', 'staging', 'odd,name'];

	it('shows several contexts merged from the flag, or from the settings when no flag is given', () => {
		expect(chooseContexts({flag: 'prod-us,prod-eu', settings: undefined, known})).toEqual({contexts: ['prod-us', 'prod-eu']});
		expect(chooseContexts({flag: undefined, settings: ['prod-eu', 'staging'], known})).toEqual({contexts: ['prod-eu', 'staging']});
		// The flag wins over the settings.
		expect(chooseContexts({flag: 'staging', settings: ['prod-eu', 'staging'], known})).toEqual({contexts: undefined});
	});

	it('takes a context whose own name has a comma as that one context', () => {
		expect(chooseContexts({flag: 'odd,name', settings: undefined, known})).toEqual({contexts: undefined});
	});

	it('makes a list of one the usual console on that context', () => {
		expect(chooseContexts({flag: undefined, settings: ['staging'], known})).toEqual({contexts: undefined, context: 'staging'});
		expect(chooseContexts({flag: 'staging,', settings: undefined, known})).toHaveProperty('error');
	});

	it('refuses contexts the kubeconfig does not have, listing the ones it has', () => {
		fc.assert(
			fc.property(
				fc.uniqueArray(contextName, {minLength: 2, maxLength: 5}),
				fc.uniqueArray(contextName, {maxLength: 5}),
				(listed, kubeconfig) => {
					const result = chooseContexts({flag: listed.join(','), settings: undefined, known: kubeconfig});
					const missing = listed.filter((name) => !kubeconfig.includes(name));
					if (kubeconfig.includes(listed.join(','))) return;
					if (missing.length === 0) {
						expect(result).toEqual({contexts: listed});
					} else {
						expect(result).toHaveProperty('error');
						const {error} = result as {error: string};
						for (const name of missing) expect(error).toContain(name);
						expect(error).toContain(`contexts: ${kubeconfig.join(', ') || 'none'}`);
					}
				},
			),
		);
	});

	it('says where a bad settings list is', () => {
		expect(chooseContexts({flag: undefined, settings: ['prod-us', 'prod-us'], known, settingsPath: '/c/config.json'})).toEqual({
			error: 'showContexts in /c/config.json names the context prod-us twice: list each context once.',
		});
	});
});
