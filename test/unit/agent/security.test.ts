import {describe, expect, it} from 'vitest';
import {IpAllowList, parseCidr, tokenMatches} from '../../../source/agent/auth/ingest-access.ts';
import {actionPermissions, plannedPermissions, readPermission} from '../../../source/agent/auth/permissions.ts';
import type {ActionPlanner, PlannedChange} from '../../../source/agent/auth/permissions.ts';
import {CachedReviewer, describeAttributes} from '../../../source/agent/auth/reviewer.ts';
import type {AccessReviewer, Identity, ResourceAttributes} from '../../../source/agent/auth/reviewer.ts';
import type {Model} from '../../../source/domain/types.ts';

function model(router: Model['router'], extra: Partial<Model> = {}): Model {
	return {
		namespace: 'team-a',
		name: 'fraud',
		router,
		routerObject: router === 'httproute' ? 'HTTPRoute/fraud-route' : router === 'virtualservice' ? 'VirtualService/fraud-vs' : undefined,
		versions: [
			{
				name: 'v1',
				track: 'stable',
				weight: 90,
				replicasReady: 1,
				replicasDesired: 1,
				restarts: 0,
				image: 'i',
				created: '',
				object: 'Deployment/fraud-v1',
				service: 'fraud-v1',
			},
			{
				name: 'v2',
				track: 'canary',
				weight: 10,
				replicasReady: 1,
				replicasDesired: 1,
				restarts: 0,
				image: 'i',
				created: '',
				object: 'Deployment/fraud-v2',
				service: 'fraud-v2',
			},
		],
		...extra,
	};
}

describe('actionPermissions', () => {
	const ref = {namespace: 'team-a', name: 'fraud'};

	it('asks for patch on the router object that the action changes', () => {
		expect(actionPermissions({kind: 'set-weight', model: ref, canary: 'v2', from: 10, to: 20}, () => model('httproute'))).toEqual([
			{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'},
		]);
		expect(actionPermissions({kind: 'switch', model: ref, from: 'v1', to: 'v2'}, () => model('kserve'))).toEqual([
			{verb: 'patch', group: 'serving.kserve.io', resource: 'inferenceservices', namespace: 'team-a', name: 'fraud'},
		]);
	});

	it('adds the old stable’s Deployment for a promote, which scales it to zero', () => {
		expect(actionPermissions({kind: 'promote', model: ref, canary: 'v2', stable: 'v1'}, () => model('virtualservice'))).toEqual([
			{verb: 'patch', group: 'networking.istio.io', resource: 'virtualservices', namespace: 'team-a', name: 'fraud-vs'},
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a', name: 'fraud-v1'},
		]);
		// KServe keeps its revisions itself: only the InferenceService changes.
		expect(actionPermissions({kind: 'promote', model: ref, canary: 'v2', stable: 'v1'}, () => model('kserve'))).toEqual([
			{verb: 'patch', group: 'serving.kserve.io', resource: 'inferenceservices', namespace: 'team-a', name: 'fraud'},
		]);
	});

	it('asks for each Deployment scaled when replicas split the traffic', () => {
		const scaled = [
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a', name: 'fraud-v2'},
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a', name: 'fraud-v1'},
		];
		expect(actionPermissions({kind: 'set-weight', model: ref, canary: 'v2', from: 10, to: 20}, () => model('replicas'))).toEqual(scaled);
		expect(actionPermissions({kind: 'promote', model: ref, canary: 'v2', stable: 'v1'}, () => model('replicas'))).toEqual(scaled);
		expect(actionPermissions({kind: 'switch', model: ref, from: 'v1', to: 'v2'}, () => model('replicas'))).toEqual(scaled);
	});

	it('adds patch on the canary Deployment for a rollback, which may restore its template', () => {
		expect(actionPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('httproute'))).toEqual([
			{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'},
			{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a', name: 'fraud-v2'},
		]);
	});

	it('asks for the same permission as changing the traffic for smoke and load tests', () => {
		expect(actionPermissions({kind: 'smoke-test', target: {...ref, version: 'v2'}}, () => model('httproute'))).toEqual([
			{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'},
		]);
		expect(
			actionPermissions(
				{
					kind: 'load-test',
					targets: [
						{...ref, version: 'v1'},
						{...ref, version: 'v2'},
					],
					rps: 10,
					durationSeconds: 5,
				},
				() => model('kserve'),
			),
		).toEqual([{verb: 'patch', group: 'serving.kserve.io', resource: 'inferenceservices', namespace: 'team-a', name: 'fraud'}]);
	});

	it('refuses to guess for an unknown model or a demo one', () => {
		expect(actionPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => undefined)).toEqual({
			notFound: expect.stringMatching(/team-a\/fraud was not found/),
		});
		expect(actionPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('demo'))).toEqual({
			invalid: expect.stringMatching(/demo model/),
		});
	});

	it('reading needs list pods in the namespace, or in all namespaces', () => {
		expect(readPermission('team-a')).toEqual({verb: 'list', group: '', resource: 'pods', namespace: 'team-a'});
		expect(describeAttributes(readPermission(undefined))).toBe('list pods in all namespaces');
		expect(describeAttributes({verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'a'})).toBe(
			'get pods/log in namespace a',
		);
		expect(
			describeAttributes({verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-b', name: 'r'}),
		).toBe('patch httproutes.gateway.networking.k8s.io "r" in namespace team-b');
	});
});

describe('plannedPermissions', () => {
	const ref = {namespace: 'team-a', name: 'fraud'};
	const change = (resource: string, group: string, name: string): PlannedChange => ({
		verb: 'patch',
		group,
		resource,
		namespace: 'team-a',
		name,
		object: name,
		change: 'x',
	});
	function planner(plan: () => PlannedChange[]): ActionPlanner & {asked: string[]} {
		const asked: string[] = [];
		return {
			asked,
			async plannedChanges(action) {
				asked.push(action.kind);
				return plan();
			},
			async actWithin() {
				throw new Error('not used here');
			},
			async readModel() {
				return model('httproute');
			},
		};
	}

	it('asks for exactly the writes of the source’s plan, once each, and holds the action to them', async () => {
		const changes = [
			change('httproutes', 'gateway.networking.k8s.io', 'fraud-route'),
			change('deployments', 'apps', 'fraud-v1'),
			change('deployments', 'apps', 'fraud-v1'),
		];
		const plan = planner(() => changes);
		expect(await plannedPermissions({kind: 'promote', model: ref, canary: 'v2', stable: 'v1'}, () => model('httproute'), plan)).toEqual({
			permissions: [
				{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'},
				{verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a', name: 'fraud-v1'},
			],
			within: changes,
		});
		expect(plan.asked).toEqual(['promote']);
	});

	it('asks for the router when the plan writes nothing or the action cannot be done, and then allows no write', async () => {
		const router = {
			permissions: [{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'}],
			within: [],
		};
		const action = {kind: 'set-weight' as const, model: ref, canary: 'v2', from: 10, to: 10};
		expect(
			await plannedPermissions(
				action,
				() => model('httproute'),
				planner(() => []),
			),
		).toEqual(router);
		const impossible = planner(() => {
			throw Object.assign(new Error('v2 is the stable version'), {name: 'PlanError'});
		});
		expect(await plannedPermissions(action, () => model('httproute'), impossible)).toEqual(router);
	});

	it('refuses to guess when the plan could not be read', async () => {
		const broken = planner(() => {
			throw new Error('connect ECONNREFUSED');
		});
		expect(await plannedPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('httproute'), broken)).toEqual({
			unavailable: 'could not read team-a/fraud to work out what the action changes: connect ECONNREFUSED',
		});
	});

	it('does not plan tests, unknown models or demo ones', async () => {
		const plan = planner(() => []);
		expect(await plannedPermissions({kind: 'smoke-test', target: {...ref, version: 'v2'}}, () => model('httproute'), plan)).toEqual({
			permissions: [{verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'team-a', name: 'fraud-route'}],
		});
		expect(await plannedPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('httproute'), undefined)).toEqual({
			permissions: actionPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('httproute')),
		});
		expect(await plannedPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => undefined, plan)).toEqual({
			notFound: expect.stringMatching(/not found/),
		});
		expect(await plannedPermissions({kind: 'rollback', model: ref, canary: 'v2'}, () => model('demo'), plan)).toEqual({
			invalid: expect.stringMatching(/demo model/),
		});
		expect(plan.asked).toEqual([]);
	});
});

describe('CachedReviewer', () => {
	function counting(allowed: boolean, user: string | undefined): AccessReviewer & {calls: string[]} {
		const calls: string[] = [];
		return {
			calls,
			async authenticate(token) {
				calls.push(`authn:${token.length}`);
				return user ? {user, groups: ['g']} : undefined;
			},
			async authorize(_identity: Identity, attributes: ResourceAttributes) {
				calls.push(`authz:${attributes.verb}`);
				return {allowed};
			},
		};
	}

	it('keeps positive answers for the TTL, keyed by a hash of the token', async () => {
		let now = 0;
		const inner = counting(true, 'alice');
		const reviewer = new CachedReviewer(inner, 10_000, () => now);
		const identity = await reviewer.authenticate('secret-token');
		await reviewer.authenticate('secret-token');
		await reviewer.authorize(identity!, readPermission('a'));
		await reviewer.authorize(identity!, readPermission('a'));
		expect(inner.calls).toEqual(['authn:12', 'authz:list']);
		now = 10_001;
		await reviewer.authenticate('secret-token');
		expect(inner.calls).toHaveLength(3);
	});

	it('asks again after a negative answer', async () => {
		const inner = counting(false, undefined);
		const reviewer = new CachedReviewer(inner);
		expect(await reviewer.authenticate('bad')).toBeUndefined();
		expect(await reviewer.authenticate('bad')).toBeUndefined();
		const identity = {user: 'bob', groups: []};
		expect(await reviewer.authorize(identity, readPermission('a'))).toEqual({allowed: false});
		await reviewer.authorize(identity, readPermission('a'));
		expect(inner.calls).toEqual(['authn:3', 'authn:3', 'authz:list', 'authz:list']);
	});
});

describe('ingest access', () => {
	it('parses CIDRs and says what is wrong with bad ones', () => {
		expect(parseCidr('10.0.0.0/8')).toEqual({address: '10.0.0.0', prefix: 8, family: 'ipv4'});
		expect(parseCidr('fd00::/8')).toEqual({address: 'fd00::', prefix: 8, family: 'ipv6'});
		expect(parseCidr('127.0.0.1')).toEqual({address: '127.0.0.1', prefix: 32, family: 'ipv4'});
		expect(parseCidr('10.0.0.0/33')).toMatch(/prefix length; it must be 0–32/);
		expect(parseCidr('nope/8')).toMatch(/does not start with an IP address/);
	});

	it('allows addresses inside the list, IPv4-mapped ones included', () => {
		const list = new IpAllowList(['10.1.0.0/16', '::1/128']);
		expect(list.allows('10.1.2.3')).toBe(true);
		expect(list.allows('::ffff:10.1.2.3')).toBe(true);
		expect(list.allows('10.2.0.1')).toBe(false);
		expect(list.allows('::1')).toBe(true);
		expect(list.allows(undefined)).toBe(false);
		expect(new IpAllowList([]).allows('203.0.113.9')).toBe(true);
		expect(() => new IpAllowList(['bad'])).toThrow(/not start with an IP/);
	});

	it('compares tokens', () => {
		expect(tokenMatches('abc', 'abc')).toBe(true);
		expect(tokenMatches('abd', 'abc')).toBe(false);
		expect(tokenMatches(undefined, 'abc')).toBe(false);
	});
});
