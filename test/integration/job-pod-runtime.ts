/**
 * Plays the container runtime of kwok's nodes for load-test Job pods (nothing here runs containers): runs each bound,
 * Running pod's container args on the host — `modeldeck agent …` is `node source/agent/run.ts …` from this checkout,
 * and a Service URL it is given leads, as the cluster's network would, to the server named for it — keeps its output
 * where kwok serves it as the pod's log (a kwok `Logs` object, CRI log format), waits until the API server returns
 * that log, then ends the pod with the container's exit code (kwok's stages read the annotation).
 */
import {spawn} from 'node:child_process';
import {appendFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {createInterface} from 'node:readline';
import {CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions} from '@kubernetes/client-node';
import type {KubeConfig, V1Pod} from '@kubernetes/client-node';
import {eventually, repoRoot} from './agent-support.ts';

const exitCodeAnnotation = 'harness.modeldeck.dev/exit-code';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface RanContainer {
	pod: string;
	completionIndex: string | undefined;
	args: string[];
	exitCode: number;
	stdout: string;
}

export class JobPodRuntime {
	readonly ran: RanContainer[] = [];
	readonly failures: string[] = [];
	readonly #config: KubeConfig;
	readonly #core: CoreV1Api;
	readonly #custom: CustomObjectsApi;
	readonly #namespace: string;
	readonly #logDir: string;
	readonly #services: Record<string, string>;
	readonly #started = new Set<string>();
	readonly #running = new Set<Promise<void>>();
	#watch: AbortController | undefined;

	/** `services`: `name.namespace` → base URL, for container args that name `http://name.namespace.svc[:80]/…`. */
	constructor(config: KubeConfig, options: {namespace: string; logDir: string; services?: Record<string, string>}) {
		this.#config = config;
		this.#core = config.makeApiClient(CoreV1Api);
		this.#custom = config.makeApiClient(CustomObjectsApi);
		this.#namespace = options.namespace;
		this.#logDir = options.logDir;
		this.#services = options.services ?? {};
	}

	async start(labelSelector: string): Promise<void> {
		this.#watch = await new Watch(this.#config).watch(
			`/api/v1/namespaces/${this.#namespace}/pods`,
			{labelSelector},
			(type: string, pod: V1Pod) => {
				const name = pod.metadata?.name;
				// A container starts once its pod is on a node and kwok has made it Running.
				if (type === 'DELETED' || !name || this.#started.has(name) || !pod.spec?.nodeName || pod.status?.phase !== 'Running') return;
				this.#started.add(name);
				const running = this.#runPod(pod).catch((error: unknown) => {
					this.failures.push(`${name}: ${(error as Error).message}`);
				});
				this.#running.add(running);
				void running.finally(() => this.#running.delete(running));
			},
			(error: unknown) => {
				if (error && !this.#watch?.signal.aborted) this.failures.push(`watch ended: ${(error as Error).message}`);
			},
		);
	}

	async stop(): Promise<void> {
		this.#watch?.abort();
		await Promise.all(this.#running);
	}

	async #runPod(pod: V1Pod): Promise<void> {
		const name = pod.metadata!.name!;
		const namespace = this.#namespace;
		const container = pod.spec!.containers[0]!;
		// The image's ENTRYPOINT is the modeldeck CLI and the Job gives only args; `agent …` is the agent's subcommand.
		if (container.command?.length) throw new Error(`the Job's container overrides the image's entrypoint: ${container.command.join(' ')}`);
		const args = container.args ?? [];
		if (args[0] !== 'agent') throw new Error(`expected the args to start with the agent subcommand, got ${args.join(' ')}`);

		const logsFile = path.join(this.#logDir, `${namespace}_${name}_${container.name}.log`);
		writeFileSync(logsFile, '');
		await this.#custom.createNamespacedCustomObject({
			group: 'kwok.x-k8s.io',
			version: 'v1alpha1',
			namespace,
			plural: 'logs',
			body: {
				apiVersion: 'kwok.x-k8s.io/v1alpha1',
				kind: 'Logs',
				// Goes away with its pod.
				metadata: {name, namespace, ownerReferences: [{apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata!.uid!}]},
				spec: {logs: [{containers: [container.name], logsFile}]},
			},
		});

		// The cluster's DNS and Service routing: a URL naming a known Service leads to its server on the host.
		const hostArgs = args.slice(1).map((arg) => {
			const match = /^http:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?::80)?(\/.*)$/.exec(arg);
			const server = match ? this.#services[`${match[1]}.${match[2]}`] : undefined;
			return match && server ? `${server}${match[3]}` : arg;
		});
		const child = spawn(process.execPath, [path.join(repoRoot, 'source/agent/run.ts'), ...hostArgs], {
			cwd: repoRoot,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		// What a CRI runtime writes for each line: `<RFC 3339 time> <stream> F <line>`; kwok's server reads this format.
		const logLines = (stream: 'stdout' | 'stderr', readable: NodeJS.ReadableStream) =>
			new Promise<void>((resolve) => {
				createInterface({input: readable})
					.on('line', (line) => {
						if (stream === 'stdout') stdout += `${line}\n`;
						appendFileSync(logsFile, `${new Date().toISOString()} ${stream} F ${line}\n`);
					})
					.on('close', resolve);
			});
		const [exitCode] = await Promise.all([
			new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1))),
			logLines('stdout', child.stdout),
			logLines('stderr', child.stderr),
		]);

		// kwok learns of the Logs object through a watch: wait until the API server's pods/log returns what the
		// container printed, so the pod never ends before its log is readable.
		await eventually(`the log of pod ${name} through the API server`, 20_000, async () =>
			(await this.#core.readNamespacedPodLog({name, namespace, container: container.name})).includes(stdout.trim()),
		);
		this.ran.push({
			pod: name,
			completionIndex: pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'],
			args,
			exitCode,
			stdout,
		});
		await this.#core.patchNamespacedPod(
			{name, namespace, body: {metadata: {annotations: {[exitCodeAnnotation]: String(exitCode)}}}},
			mergePatch,
		);
	}
}
