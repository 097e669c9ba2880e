// The registry watcher against a REAL MLflow server (harness/mlflow.ts: MLflow from PyPI, SQLite backend store):
// models and versions are registered and aliases moved through MLflow's REST API, and the agent (real HTTP server,
// real SQLite store) starts rollouts through a DeliveryStarter that records what it is asked. MLflow's own webhook
// delivery calls the agent over a real socket, signed with a shared secret.
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {startMlflow} from '../../harness/mlflow.ts';
import type {RunningMlflow} from '../../harness/mlflow.ts';
import {startAgent} from '../../source/agent/main.ts';
import type {AgentOptions, RunningAgent} from '../../source/agent/main.ts';
import type {AccessReviewer} from '../../source/agent/auth/reviewer.ts';
import {parseRegistrySettings} from '../../source/agent/registry/settings.ts';
import {mlflowSignature} from '../../source/agent/registry/webhook.ts';
import type {WebhookAnswer} from '../../source/agent/registry/webhook.ts';
import {startDelivery} from '../../source/domain/delivery.ts';
import type {DeliverySpec, DeliveryStarter} from '../../source/domain/delivery.ts';
import {eventually} from './agent-support.ts';

const webhookSecret = 'the-shared-webhook-secret';
const mlflowEnv = {
	// The agent listens on 127.0.0.1 over plain HTTP: allow what MLflow refuses by default, and see new webhooks at once.
	MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https',
	MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true',
	MLFLOW_WEBHOOK_CACHE_TTL: '1',
};

let mlflow: RunningMlflow | undefined;
let mlflowDir: string;
const agents: RunningAgent[] = [];
const directories: string[] = [];

beforeAll(async () => {
	mlflowDir = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-mlflow-test-'));
	mlflow = await startMlflow({dir: mlflowDir, env: mlflowEnv});
});

afterEach(async () => {
	for (const agent of agents.splice(0)) await agent.close();
});

afterAll(async () => {
	await mlflow?.stop();
	for (const directory of [mlflowDir, ...directories]) if (directory) rmSync(directory, {recursive: true, force: true});
});

/** What the webhook answers: a WebhookAnswer, or an error. */
interface WebhookReply {
	error?: string;
	ignored?: string;
	checked?: Extract<WebhookAnswer, {checked: unknown}>['checked'];
}

interface MlflowAnswer {
	model_version?: {version: string | number};
}

async function mlflowApi(method: 'GET' | 'POST', route: string, body?: unknown, api = '2.0'): Promise<MlflowAnswer> {
	const response = await fetch(`${mlflow!.url}/api/${api}/mlflow/${route}`, {
		method,
		headers: {'content-type': 'application/json'},
		...(body === undefined ? {} : {body: JSON.stringify(body)}),
	});
	const text = await response.text();
	if (!response.ok) throw new Error(`MLflow ${method} ${route}: HTTP ${response.status}: ${text.slice(0, 300)}`);
	return JSON.parse(text || '{}') as MlflowAnswer;
}

const registerModel = (name: string) => mlflowApi('POST', 'registered-models/create', {name});
async function addVersion(name: string, tags: Record<string, string> = {}): Promise<string> {
	const created = await mlflowApi('POST', 'model-versions/create', {
		name,
		source: `s3://models/${name}`,
		tags: Object.entries(tags).map(([key, value]) => ({key, value})),
	});
	return String(created.model_version?.version);
}

const setAlias = (name: string, alias: string, version: string) => mlflowApi('POST', 'registered-models/alias', {name, alias, version});
const setTag = (name: string, version: string, key: string, value: string) =>
	mlflowApi('POST', 'model-versions/set-tag', {name, version, key, value});

/** The agent's runner, as the watcher sees it: records each spec; answers as told. */
class RecordingStarter implements DeliveryStarter {
	readonly specs: DeliverySpec[] = [];
	answer: 'ok' | 'refuse' | 'throw' = 'ok';
	async start(spec: DeliverySpec) {
		if (this.answer === 'throw') throw new Error('the API server is not answering');
		this.specs.push(spec);
		if (this.answer === 'refuse')
			return {ok: false as const, message: `a rollout of ${spec.model.namespace}/${spec.model.name} is already running`};
		return {ok: true as const, state: startDelivery(spec, 'v0', 'weights', Date.now()).state};
	}
}

const reviewer: AccessReviewer = {
	async authenticate(token) {
		return token === 'operator-token' ? {user: 'operator', groups: []} : undefined;
	},
	async authorize() {
		return {allowed: true};
	},
};

interface Started {
	agent: RunningAgent;
	logs: string[];
	dbPath: string;
}

async function agentFollowing(
	follow: Record<string, unknown>[],
	starter: DeliveryStarter,
	extra: Partial<AgentOptions> & {pollSeconds?: number; dbPath?: string} = {},
): Promise<Started> {
	const {pollSeconds = 0.2, dbPath: givenDb, ...options} = extra;
	let dbPath = givenDb;
	if (dbPath === undefined) {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'modeldeck-registry-agent-'));
		directories.push(directory);
		dbPath = path.join(directory, 'agent.db');
	}

	const logs: string[] = [];
	const settings = parseRegistrySettings({
		mlflow: {url: mlflow!.url, pollSeconds, webhookSecretEnv: 'HOOK_SECRET'},
		defaults: {steps: '10,50,100', pause: '30s'},
		follow,
	});
	const agent = await startAgent({
		reviewer,
		dbPath,
		log: (line) => logs.push(line),
		registry: {settings, starter, env: {HOOK_SECRET: webhookSecret}},
		...options,
	});
	agents.push(agent);
	return {agent, logs, dbPath};
}

async function metric(agent: RunningAgent, name: string, labels: string): Promise<number> {
	const text = await (await fetch(`${agent.url}/metrics`)).text();
	const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
	return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Polls of the watcher so far (MLflow answered). */
const polls = (agent: RunningAgent) => metric(agent, 'modeldeck_agent_registry_polls_total', 'result="ok"');

describe('following an alias by polling', () => {
	it('an alias move starts one rollout with the spec from the settings; moving it again starts another; a restarted agent does not start the same version again', async () => {
		await registerModel('fraud-detector');
		const v1 = await addVersion('fraud-detector');
		const v2 = await addVersion('fraud-detector');
		const starter = new RecordingStarter();
		const follow = [
			{registeredModel: 'fraud-detector', alias: 'champion', model: 'team-a/fraud', image: 'registry.example/fraud:{version}'},
		];
		const first = await agentFollowing(follow, starter);
		// The alias is not set yet: noted as none, so setting it is a move.
		await eventually('a first look at the alias', 20_000, () => first.logs.some((line) => line.includes('has no alias champion yet')));

		await setAlias('fraud-detector', 'champion', v1);
		await eventually('a rollout of version 1', 20_000, () => starter.specs.length === 1);
		expect(starter.specs[0]).toEqual({
			model: {namespace: 'team-a', name: 'fraud'},
			image: `registry.example/fraud:${v1}`,
			version: `v${v1}`,
			steps: [10, 50, 100],
			pauseSeconds: 30,
			readyTimeoutSeconds: 300,
			maxHolds: 2,
			requestedBy: `mlflow fraud-detector@champion → ${v1}`,
		});
		const audit = first.agent.core.audit(10);
		expect(audit[0]).toMatchObject({
			user: 'mlflow fraud-detector@champion',
			action: 'deliver',
			target: 'team-a/fraud',
			before: 'alias not set',
			after: `version ${v1}: v${v1} (registry.example/fraud:${v1})`,
			result: 'ok',
		});

		// Later polls see the same version: nothing more is started.
		const seen = await polls(first.agent);
		await eventually('three more polls', 20_000, async () => (await polls(first.agent)) >= seen + 3);
		expect(starter.specs).toHaveLength(1);

		await setAlias('fraud-detector', 'champion', v2);
		await eventually('a rollout of version 2', 20_000, () => starter.specs.length === 2);
		expect(starter.specs[1]).toMatchObject({
			version: `v${v2}`,
			image: `registry.example/fraud:${v2}`,
			requestedBy: `mlflow fraud-detector@champion → ${v2}`,
		});
		expect(first.agent.core.audit(1)[0]).toMatchObject({before: `version ${v1}`, result: 'ok'});

		// A restart with the same store: version 2 was handled already.
		await first.agent.close();
		agents.splice(agents.indexOf(first.agent), 1);
		const again = new RecordingStarter();
		const second = await agentFollowing(follow, again, {dbPath: first.dbPath});
		await eventually('three polls after the restart', 20_000, async () => (await polls(second.agent)) >= 3);
		expect(again.specs).toEqual([]);
		// Back to version 1 is a move too.
		await setAlias('fraud-detector', 'champion', v1);
		await eventually('a rollout back to version 1', 20_000, () => again.specs.length === 1);
		expect(again.specs[0]).toMatchObject({version: `v${v1}`, requestedBy: `mlflow fraud-detector@champion → ${v1}`});
	});

	it("takes the image from the model version's tag: a missing tag is audited once with how to set it, and retried until it is set", async () => {
		await registerModel('churn');
		const v1 = await addVersion('churn', {image: 'registry.example/churn@sha256:0001'});
		const v2 = await addVersion('churn');
		await setAlias('churn', 'prod', v1);
		const starter = new RecordingStarter();
		const {agent, logs} = await agentFollowing([{registeredModel: 'churn', alias: 'prod', model: 'team-b/churn'}], starter);
		await eventually('the first look', 20_000, () =>
			logs.some((line) => line.includes(`churn@prod is at version ${v1} when first looked at`)),
		);
		expect(starter.specs).toEqual([]);

		await setAlias('churn', 'prod', v2);
		const problem = await eventually('the missing tag audited', 20_000, () =>
			agent.core.audit(10).find((entry) => entry.result === 'failed' && entry.message.includes('has no tag "image"')),
		);
		expect(problem).toMatchObject({user: 'mlflow churn@prod', action: 'registry-watch', target: 'team-b/churn'});
		expect(problem.message).toContain(`set_model_version_tag("churn", "${v2}", "image"`);
		const seen = await polls(agent);
		await eventually('three more polls', 20_000, async () => (await polls(agent)) >= seen + 3);
		expect(agent.core.audit(20).filter((entry) => entry.result === 'failed')).toHaveLength(1);
		expect(await metric(agent, 'modeldeck_agent_registry_problems_total', 'kind="mapping"')).toBeGreaterThanOrEqual(3);
		expect(starter.specs).toEqual([]);

		await setTag('churn', v2, 'image', 'registry.example/churn@sha256:0002');
		await eventually('the rollout once the tag is there', 20_000, () => starter.specs.length === 1);
		expect(starter.specs[0]).toMatchObject({
			model: {namespace: 'team-b', name: 'churn'},
			image: 'registry.example/churn@sha256:0002',
			version: `v${v2}`,
		});
	});

	it('a rollout the runner refuses is audited and not asked again; one whose runner fails is retried', async () => {
		await registerModel('ranker');
		const v1 = await addVersion('ranker');
		const v2 = await addVersion('ranker');
		const starter = new RecordingStarter();
		const {agent, logs} = await agentFollowing(
			[{registeredModel: 'ranker', alias: 'live', model: 'team-a/ranker', image: 'r/ranker:{version}'}],
			starter,
		);
		await eventually('the first look', 20_000, () => logs.some((line) => line.includes('has no alias live yet')));

		starter.answer = 'throw';
		await setAlias('ranker', 'live', v1);
		const failed = await eventually('the failure audited', 20_000, () =>
			agent.core.audit(10).find((entry) => entry.message.includes('could not be started (the API server is not answering)')),
		);
		expect(failed).toMatchObject({result: 'failed', target: 'team-a/ranker'});
		starter.answer = 'refuse';
		await eventually('the retry, refused', 20_000, () => starter.specs.length === 1);
		const refused = await eventually('the refusal audited', 20_000, () => agent.core.audit(10).find((entry) => entry.result === 'refused'));
		expect(refused.message).toMatch(
			/the rollout was refused: a rollout of team-a\/ranker is already running; move the alias again to try again/,
		);
		const seen = await polls(agent);
		await eventually('three more polls', 20_000, async () => (await polls(agent)) >= seen + 3);
		expect(starter.specs).toHaveLength(1);

		starter.answer = 'ok';
		await setAlias('ranker', 'live', v2);
		await eventually('the next version started', 20_000, () => starter.specs.length === 2);
	});

	it('a registered model that does not exist is reported with what to fix, never a crash', async () => {
		const {agent} = await agentFollowing([{registeredModel: 'ghost', alias: 'champion', model: 'team-a/ghost'}], new RecordingStarter());
		const problem = await eventually('the missing model audited', 20_000, () =>
			agent.core.audit(10).find((entry) => entry.result === 'failed'),
		);
		expect(problem.message).toMatch(/has no registered model ghost .*register it or fix registeredModel in the registry settings/);
		expect(await metric(agent, 'modeldeck_agent_registry_problems_total', 'kind="model-missing"')).toBeGreaterThanOrEqual(1);
		expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
	});
});

describe('webhooks', () => {
	async function post(agent: RunningAgent, body: string, headers: Record<string, string>) {
		const response = await fetch(`${agent.url}/v1/registry/webhook`, {
			method: 'POST',
			headers: {'content-type': 'application/json', ...headers},
			body,
		});
		const text = await response.text();
		return {status: response.status, body: JSON.parse(text) as WebhookReply};
	}

	function signed(body: string, secret = webhookSecret, timestamp = String(Math.floor(Date.now() / 1000))) {
		const id = `delivery-${Math.random().toString(36).slice(2)}`;
		return {
			'x-mlflow-signature': mlflowSignature(secret, id, timestamp, body),
			'x-mlflow-delivery-id': id,
			'x-mlflow-timestamp': timestamp,
		};
	}

	it("MLflow's own signed webhook makes the agent start the rollout (no polling)", async () => {
		await registerModel('scorer');
		const v1 = await addVersion('scorer');
		const starter = new RecordingStarter();
		const {agent, logs} = await agentFollowing(
			[{registeredModel: 'scorer', alias: 'champion', model: 'team-a/scorer', image: 'r/scorer:{version}'}],
			starter,
			{
				pollSeconds: 0,
			},
		);
		await eventually('the first look', 20_000, () => logs.some((line) => line.includes('has no alias champion yet')));
		await mlflowApi('POST', 'webhooks', {
			name: 'modeldeck',
			url: `${agent.url}/v1/registry/webhook`,
			events: [{entity: 'MODEL_VERSION_ALIAS', action: 'CREATED'}],
			secret: webhookSecret,
		});
		// MLflow caches the webhooks of an event for MLFLOW_WEBHOOK_CACHE_TTL (1 s here).
		await new Promise((resolve) => setTimeout(resolve, 1500));
		await setAlias('scorer', 'champion', v1);
		await eventually("the rollout started by MLflow's delivery", 30_000, () => starter.specs.length === 1);
		expect(starter.specs[0]).toMatchObject({
			model: {namespace: 'team-a', name: 'scorer'},
			image: `r/scorer:${v1}`,
			requestedBy: `mlflow scorer@champion → ${v1}`,
		});
	});

	it('authenticates by signature or Kubernetes token, refuses anything else with how to fix it, and answers every bad body with 400', async () => {
		await registerModel('pricer');
		const v1 = await addVersion('pricer');
		const starter = new RecordingStarter();
		const {agent, logs} = await agentFollowing(
			[{registeredModel: 'pricer', alias: 'champion', model: 'team-a/pricer', image: 'r/pricer:{version}'}],
			starter,
			{
				pollSeconds: 0,
			},
		);
		await eventually('the first look', 20_000, () => logs.some((line) => line.includes('pricer has no alias champion yet')));
		await setAlias('pricer', 'champion', v1);
		const event = JSON.stringify({
			entity: 'model_version_alias',
			action: 'created',
			timestamp: new Date().toISOString(),
			data: {name: 'pricer', alias: 'champion', version: v1},
		});

		const unsigned = await post(agent, event, {});
		expect(unsigned.status).toBe(401);
		expect(unsigned.body.error).toMatch(/missing bearer token.*or sign the delivery with MLflow's webhook secret/);
		const wrong = await post(agent, event, signed(event, 'not-the-secret'));
		expect(wrong.status).toBe(401);
		expect(wrong.body.error).toMatch(/signature does not match/);
		const stale = await post(agent, event, signed(event, webhookSecret, String(Math.floor(Date.now() / 1000) - 3600)));
		expect(stale.status).toBe(401);
		expect(stale.body.error).toMatch(/away from the agent's clock/);
		const badToken = await post(agent, event, {authorization: 'Bearer nope'});
		expect(badToken.status).toBe(401);
		expect(starter.specs).toEqual([]);

		const good = await post(agent, event, signed(event));
		expect(good.status).toBe(200);
		expect(good.body.checked?.[0]).toMatchObject({
			registeredModel: 'pricer',
			alias: 'champion',
			model: 'team-a/pricer',
			outcome: {kind: 'started', version: v1},
		});
		const again = await post(agent, event, {authorization: 'Bearer operator-token'});
		expect(again.status).toBe(200);
		expect(again.body.checked?.[0]?.outcome).toEqual({kind: 'unchanged', version: v1});
		expect(starter.specs).toHaveLength(1);
		const other = JSON.stringify({entity: 'model_version', action: 'created', data: {name: 'someone-else', version: '1'}});
		expect((await post(agent, other, signed(other))).body.ignored).toMatch(/someone-else: not followed by this agent/);

		await fc.assert(
			fc.asyncProperty(
				fc.oneof(
					fc.string({maxLength: 200}),
					fc.jsonValue({maxDepth: 4}).map((value) => JSON.stringify(value) ?? 'null'),
				),
				async (body) => {
					const answer = await post(agent, body, signed(body));
					expect([200, 400]).toContain(answer.status);
					if (answer.status === 400) expect(answer.body.error).toMatch(/expected MLflow's webhook payload/);
				},
			),
			{numRuns: 60},
		);
		expect(starter.specs).toHaveLength(1);
		expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
	});

	it('an agent without registry settings says how to turn the webhook on', async () => {
		const agent = await startAgent({reviewer});
		agents.push(agent);
		const answer = await post(agent, '{}', {authorization: 'Bearer operator-token'});
		expect(answer.status).toBe(404);
		expect(answer.body.error).toMatch(/--registry-config FILE/);
	});
});

describe('MLflow down', () => {
	it('is reported in the log, the metrics and the audit with what to check, retried, and the rollout starts once MLflow is back', async () => {
		await registerModel('recommender');
		const v1 = await addVersion('recommender');
		const v2 = await addVersion('recommender');
		await setAlias('recommender', 'champion', v1);
		const starter = new RecordingStarter();
		const {agent, logs} = await agentFollowing(
			[{registeredModel: 'recommender', alias: 'champion', model: 'team-a/recommender', image: 'r/rec:{version}'}],
			starter,
		);
		await eventually('the first look', 20_000, () => logs.some((line) => line.includes('is at version')));

		const port = mlflow!.port;
		await mlflow!.stop();
		mlflow = undefined;
		const problem = await eventually('the outage audited', 20_000, () => agent.core.audit(10).find((entry) => entry.result === 'failed'));
		expect(problem.message).toMatch(
			/^MLflow at http:\/\/127\.0\.0\.1:\d+ cannot be reached \(ECONNREFUSED\): check mlflow.url and that the server runs; trying again at the next poll$/,
		);
		expect(logs.some((line) => line.includes('cannot be reached (ECONNREFUSED)'))).toBe(true);
		await eventually(
			'the failed polls counted',
			20_000,
			async () => (await metric(agent, 'modeldeck_agent_registry_polls_total', 'result="error"')) >= 3,
		);
		expect(await metric(agent, 'modeldeck_agent_registry_problems_total', 'kind="unreachable"')).toBeGreaterThanOrEqual(3);
		expect(agent.core.audit(20).filter((entry) => entry.result === 'failed')).toHaveLength(1);
		expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);

		mlflow = await startMlflow({dir: mlflowDir, port, env: mlflowEnv});
		await eventually('the recovery logged', 30_000, () => logs.some((line) => line.includes('recommender@champion answers again')));
		await setAlias('recommender', 'champion', v2);
		await eventually('the rollout after the outage', 20_000, () => starter.specs.length === 1);
		expect(starter.specs[0]).toMatchObject({version: `v${v2}`, image: `r/rec:${v2}`});
	});
});
