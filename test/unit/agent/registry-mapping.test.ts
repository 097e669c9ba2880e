// The registry watcher's pure parts: its settings file, the templates that make the image and the version name from
// an MLflow model version, and the webhook's body and signature. Outside inputs get fast-check properties.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {describe, expect, it, vi} from 'vitest';
import {parseAgentFlags, runAgent} from '../../../source/agent/main.ts';
import {deliverySpecProblems} from '../../../source/domain/delivery.ts';
import {deliverySpecFor, renderTemplate} from '../../../source/agent/registry/mapping.ts';
import type {RegistryModelVersion} from '../../../source/agent/registry/mapping.ts';
import {parseModelVersion, RegistryError} from '../../../source/agent/registry/mlflow-client.ts';
import {
	defaultRollout,
	parseRegistrySettings,
	parseRegistrySettingsText,
	readRegistrySettingsFile,
	templateProblems,
} from '../../../source/agent/registry/settings.ts';
import type {FollowedAlias} from '../../../source/agent/registry/settings.ts';
import {mlflowSignature, parseWebhookBody, signatureProblem} from '../../../source/agent/registry/webhook.ts';

const follow: FollowedAlias = {
	registeredModel: 'fraud-detector',
	alias: 'champion',
	model: {namespace: 'team-a', name: 'fraud'},
	image: 'registry.example/fraud:{version}',
	version: 'v{version}',
	...defaultRollout,
};

const modelVersion = (version: string, tags: Record<string, string> = {}): RegistryModelVersion => ({
	name: 'fraud-detector',
	version,
	tags,
});

describe('settings', () => {
	it('reads a YAML file with defaults, overrides and every placeholder', () => {
		const settings = parseRegistrySettingsText(`
mlflow: {url: "http://mlflow:5000/", pollSeconds: 10s, tokenEnv: MLFLOW_TOKEN, webhookSecretEnv: HOOK_SECRET}
defaults: {steps: "10,50,100", pause: 1m}
follow:
  - {registeredModel: fraud-detector, alias: champion, model: team-a/fraud}
  - registeredModel: churn
    alias: prod
    model: team-b/churn
    image: "registry.example/{name}:{tag.git_sha}-{run_id}"
    version: "{alias}-{version}"
    steps: [50, 100]
    pause: 0
    readyTimeout: 2m
    maxHolds: 0
`);
		expect(settings.mlflow).toEqual({
			url: 'http://mlflow:5000',
			pollSeconds: 10,
			tokenEnv: 'MLFLOW_TOKEN',
			webhookSecretEnv: 'HOOK_SECRET',
		});
		expect(settings.follow[0]).toMatchObject({
			image: '{tag.image}',
			version: 'v{version}',
			steps: [10, 50, 100],
			pauseSeconds: 60,
			readyTimeoutSeconds: 300,
			maxHolds: 2,
			model: {namespace: 'team-a', name: 'fraud'},
		});
		expect(settings.follow[1]).toMatchObject({steps: [50, 100], pauseSeconds: 0, readyTimeoutSeconds: 120, maxHolds: 0});
	});

	it('lists every problem of a bad file, each saying how to fix it', () => {
		const attempt = () =>
			parseRegistrySettings({
				mlflow: {url: 'ftp://x', pollSeconds: 'soon'},
				follow: [
					{registeredModel: 'a', alias: 'champion', model: 'fraud', image: '{tag}', steps: [50, 10]},
					{registeredModel: 'a', alias: 'champion', model: 'team-a/fraud', colour: 'red'},
					{registeredModel: 'a', alias: 'champion', model: 'team-a/fraud'},
				],
			});
		expect(attempt).toThrow(/mlflow.url: "ftp:\/\/x" is not an http\(s\) URL/);
		expect(attempt).toThrow(/mlflow.pollSeconds: "soon" is not a duration; write seconds or e.g. 30s/);
		expect(attempt).toThrow(/follow\[0\].model: "fraud" is not NAMESPACE\/NAME; e.g. team-a\/fraud/);
		expect(attempt).toThrow(/follow\[0\].image: unknown placeholder \{tag\}/);
		expect(attempt).toThrow(/follow\[0\].steps: steps must go up: 50 then 10/);
		expect(attempt).toThrow(/follow\[1\]: unknown key "colour"/);
		expect(attempt).toThrow(/follow\[2\]: a@champion is followed twice/);
		expect(() => parseRegistrySettingsText('mlflow: [')).toThrow(/not valid YAML or JSON/);
	});

	it('never throws anything but an Error with a message, whatever the file holds', () => {
		fc.assert(
			fc.property(fc.jsonValue(), (value) => {
				try {
					const settings = parseRegistrySettings(value);
					expect(settings.follow.length).toBeGreaterThan(0);
				} catch (error) {
					expect(error).toBeInstanceOf(Error);
					expect((error as Error).message.length).toBeGreaterThan(10);
				}
			}),
			{numRuns: 500},
		);
	});

	it('accepts every well-formed entry and keeps what it was given', () => {
		const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
		const steps = fc.uniqueArray(fc.integer({min: 1, max: 100}), {minLength: 1, maxLength: 5}).map((list) => list.sort((a, b) => a - b));
		fc.assert(
			fc.property(
				name,
				name,
				name,
				fc.string({minLength: 1, maxLength: 20}).filter((text) => text.trim() !== ''),
				steps,
				fc.nat(3600),
				(namespace, model, registered, alias, list, pause) => {
					const settings = parseRegistrySettings({
						mlflow: {url: 'https://mlflow.example'},
						follow: [{registeredModel: registered, alias, model: `${namespace}/${model}`, steps: list, pause}],
					});
					expect(settings.follow[0]).toMatchObject({
						registeredModel: registered,
						alias: alias.trim(),
						model: {namespace, name: model},
						steps: list,
						pauseSeconds: pause,
					});
				},
			),
		);
	});

	it('names the file that cannot be read or is wrong', () => {
		expect(() => readRegistrySettingsFile('/nonexistent/registry.yaml')).toThrow(
			/^registry settings \/nonexistent\/registry.yaml cannot be read: ENOENT/,
		);
		const directory = mkdtempSync(path.join(os.tmpdir(), 'registry-settings-'));
		const file = path.join(directory, 'registry.yaml');
		writeFileSync(file, 'mlflow: {url: http://mlflow:5000}\nfollow: []\n');
		expect(() => readRegistrySettingsFile(file)).toThrow(`registry settings ${file}: follow: give a list of aliases to follow`);
		rmSync(directory, {recursive: true, force: true});
	});

	it('modeldeck agent --registry-config FILE: read at start, a bad file stops the agent with exit 2 and the reason', async () => {
		expect(parseAgentFlags(['--registry-config', 'registry.yaml'], {})).toMatchObject({flags: {registryConfig: 'registry.yaml'}});
		const written: string[] = [];
		const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
			written.push(String(chunk));
			return true;
		});
		try {
			expect(await runAgent(['--registry-config', '/nonexistent/registry.yaml', '--no-auth'])).toBe(2);
		} finally {
			spy.mockRestore();
		}

		expect(written.join('')).toMatch(/^--registry-config: registry settings \/nonexistent\/registry.yaml cannot be read: ENOENT/);
	});

	it('checks templates: known placeholders pass, anything else is named', () => {
		expect(templateProblems('r/{name}:{version}-{alias}-{run_id}-{tag.a.b}', 'image')).toEqual([]);
		expect(templateProblems('r/{colour}', 'image')[0]).toMatch(/unknown placeholder \{colour\}; use \{version\}/);
		expect(templateProblems('r/{version', 'image')[0]).toMatch(/does not close a placeholder/);
	});
});

describe('mapping a model version to a rollout', () => {
	it('makes the spec from the templates, with who asked', () => {
		const result = deliverySpecFor(follow, modelVersion('14'));
		expect(result).toEqual({
			spec: {
				model: {namespace: 'team-a', name: 'fraud'},
				image: 'registry.example/fraud:14',
				version: 'v14',
				steps: [5, 25, 50, 100],
				pauseSeconds: 120,
				readyTimeoutSeconds: 300,
				maxHolds: 2,
				requestedBy: 'mlflow fraud-detector@champion → 14',
			},
		});
	});

	it('takes the image from a tag, and says which tag is missing and how to set it', () => {
		const tagged = {...follow, image: '{tag.image}'};
		expect(deliverySpecFor(tagged, modelVersion('3', {image: ' registry.example/fraud@sha256:abc '}))).toMatchObject({
			spec: {image: 'registry.example/fraud@sha256:abc', version: 'v3'},
		});
		const missing = deliverySpecFor(tagged, modelVersion('3'));
		expect(missing).toEqual({
			error: expect.stringMatching(/version 3 of fraud-detector has no tag "image".*set_model_version_tag\("fraud-detector", "3", "image"/),
		});
	});

	it('refuses a version name Kubernetes would not take, saying why', () => {
		const result = deliverySpecFor({...follow, version: '{tag.stage}'}, modelVersion('3', {stage: 'Not OK!'}));
		expect(result).toEqual({error: expect.stringMatching(/cannot be rolled out: "not ok!" is not a version name/)});
	});

	it('any model version gives a valid spec or a clear error, never a throw', () => {
		const tags = fc.dictionary(fc.constantFrom('image', 'git_sha', 'stage', 'other'), fc.string({maxLength: 30}));
		const templates = fc.constantFrom('{tag.image}', 'r/x:{version}', 'r/{name}:{tag.git_sha}', '{run_id}', 'v{version}', '{tag.stage}');
		fc.assert(
			fc.property(
				fc.string({maxLength: 12}),
				tags,
				fc.option(fc.string({maxLength: 12}), {nil: undefined}),
				templates,
				templates,
				(version, tagMap, runId, image, name) => {
					const result = deliverySpecFor(
						{...follow, image, version: name},
						{name: 'fraud-detector', version, tags: tagMap, ...(runId === undefined ? {} : {runId})},
					);
					if ('spec' in result) {
						expect(deliverySpecProblems(result.spec)).toEqual([]);
						expect(result.spec.image).not.toMatch(/\s/);
						expect(result.spec.requestedBy).toBe(`mlflow fraud-detector@champion → ${version}`);
					} else {
						expect(result.error).toMatch(/fraud-detector|template|image/);
					}
				},
			),
			{numRuns: 500},
		);
	});

	it('renders every placeholder', () => {
		expect(
			renderTemplate('{name}/{alias}/{version}/{run_id}/{tag.k}', {name: 'm', version: '7', tags: {k: 'v'}, runId: 'r1'}, 'prod', 'x'),
		).toEqual({
			text: 'm/prod/7/r1/v',
		});
	});
});

describe("MLflow's answers", () => {
	it('reads a model_version with its tags and run', () => {
		expect(
			parseModelVersion(
				{name: 'm', version: '2', run_id: 'abc', tags: [{key: 'image', value: 'r/m:2'}, {key: 5}], aliases: ['champion']},
				'x',
			),
		).toEqual({name: 'm', version: '2', runId: 'abc', tags: {image: 'r/m:2'}});
	});

	it('anything else is a RegistryError saying so, never a crash', () => {
		fc.assert(
			fc.property(fc.jsonValue(), (value) => {
				try {
					const version = parseModelVersion(value, 'the alias');
					expect(typeof version.version).toBe('string');
				} catch (error) {
					expect(error).toBeInstanceOf(RegistryError);
				}
			}),
		);
	});
});

describe('the webhook', () => {
	const body = (value: unknown) => Buffer.from(JSON.stringify(value));

	it("reads MLflow's alias event", () => {
		expect(
			parseWebhookBody(
				body({entity: 'model_version_alias', action: 'created', timestamp: 'now', data: {name: 'm', alias: 'champion', version: '3'}}),
			),
		).toEqual({
			entity: 'model_version_alias',
			action: 'created',
			name: 'm',
			alias: 'champion',
			version: '3',
		});
	});

	it('a bad body gets a message naming what is wrong and the shape expected', () => {
		expect(parseWebhookBody(Buffer.from('{'))).toMatch(/^the body is not JSON .*expected MLflow's webhook payload/);
		expect(parseWebhookBody(body([]))).toMatch(/not a JSON object/);
		expect(parseWebhookBody(body({entity: 'x', action: 'y', data: {alias: 'a'}}))).toMatch(/"data.name" \(the registered model\)/);
		expect(parseWebhookBody(Buffer.from('['.repeat(100) + ']'.repeat(100)))).toMatch(/nested too deeply/);
	});

	it('any bytes give an event or a message, never a throw', () => {
		fc.assert(
			fc.property(
				fc.oneof(
					fc.uint8Array({maxLength: 200}).map((bytes) => Buffer.from(bytes)),
					fc.jsonValue().map(body),
				),
				(bytes) => {
					const result = parseWebhookBody(bytes);
					if (typeof result === 'string') expect(result).toMatch(/expected MLflow's webhook payload/);
					else expect(result.name.length).toBeGreaterThan(0);
				},
			),
			{numRuns: 1000},
		);
	});

	it("checks MLflow's signature: right secret and fresh only", () => {
		const payload = body({entity: 'model_version_alias', action: 'created', data: {name: 'm'}});
		const now = 1_800_000_000_000;
		const timestamp = String(now / 1000);
		const headers = {
			'x-mlflow-signature': mlflowSignature('s3cret', 'd-1', timestamp, payload),
			'x-mlflow-delivery-id': 'd-1',
			'x-mlflow-timestamp': timestamp,
		};
		expect(signatureProblem(headers, payload, 's3cret', now)).toBeUndefined();
		expect(signatureProblem(headers, payload, 'other', now)).toMatch(
			/does not match: the webhook's secret in MLflow must equal the agent's/,
		);
		expect(signatureProblem(headers, Buffer.concat([payload, Buffer.from(' ')]), 's3cret', now)).toMatch(/does not match/);
		expect(signatureProblem(headers, payload, 's3cret', now + 301_000)).toMatch(/away from the agent's clock/);
		expect(signatureProblem({...headers, 'x-mlflow-delivery-id': undefined}, payload, 's3cret', now)).toMatch(/needs X-MLflow-Signature/);
		fc.assert(
			fc.property(fc.string(), fc.string(), (signature, id) => {
				const problem = signatureProblem(
					{...headers, 'x-mlflow-signature': signature, 'x-mlflow-delivery-id': id || 'x'},
					payload,
					's3cret',
					now,
				);
				if (signature !== headers['x-mlflow-signature'] || (id || 'x') !== 'd-1') expect(problem).toBeDefined();
			}),
		);
	});
});
