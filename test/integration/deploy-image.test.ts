// The container image without a Docker engine: scripts/image-layout.ts assembles the runtime stage's files from
// deploy/Dockerfile's own COPY lines, and the agent and the example model server are started from that layout the way
// the image and the manifests start them — the image's entrypoint, the Deployments' args, env and volumes — as the
// image's non-root user, with no node_modules anywhere, another working directory, an empty NODE_PATH and a HOME that
// does not exist.
import {spawn, spawnSync} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {type KubeObject, kustomize} from './deploy-support.ts';
import {
	type ImageLayout,
	assembleImageLayout,
	dockerignoreFilter,
	parseCopy,
	parseDockerfile,
	repoRoot,
} from '../../scripts/image-layout.ts';
import {eventually} from './agent-support.ts';

const imageUid = 65532;
/** As root the processes run as the image's user; otherwise the image's files are made read-only to this user. */
const switchUser = process.getuid?.() === 0;

let layout: ImageLayout;
const children: ChildProcess[] = [];

interface Container {
	image: string;
	args: string[];
	env?: Array<{name: string; value?: string; valueFrom?: {fieldRef?: {fieldPath: string}}}>;
	volumeMounts?: Array<{name: string; mountPath: string}>;
}

function deployment(objects: KubeObject[], name: string): {object: KubeObject; container: Container; volumes: Array<Record<string, any>>} {
	const object = objects.find((candidate) => candidate.kind === 'Deployment' && candidate.metadata.name === name);
	if (!object) throw new Error(`no Deployment ${name}`);
	const spec = (object['spec'] as any).template.spec;
	return {object, container: spec.containers[0] as Container, volumes: spec.volumes ?? []};
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** Every file under a directory with its size and modification time, to tell whether anything wrote there. */
function snapshot(directory: string): string[] {
	const entries: string[] = [];
	const walk = (relative: string) => {
		for (const entry of readdirSync(path.join(directory, relative), {withFileTypes: true})) {
			const inside = path.join(relative, entry.name);
			if (entry.isDirectory()) walk(inside);
			else {
				const stat = statSync(path.join(directory, inside));
				entries.push(`${inside} ${stat.size} ${stat.mtimeMs}`);
			}
		}
	};

	walk('');
	return entries.sort();
}

/** A writable volume (emptyDir) in the layout, owned by the image's user as fsGroup makes it. */
function emptyDir(mountPath: string): string {
	const directory = layout.hostPath(mountPath);
	mkdirSync(directory, {recursive: true});
	if (switchUser) chownSync(directory, imageUid, imageUid);
	return directory;
}

/** The container's args with its mount paths moved into the layout, --listen (and --ingest-listen) moved to 127.0.0.1. */
function localArgs(args: string[], mountPaths: string[], port: number, ingestPort?: number): string[] {
	return args.map((arg) => {
		if (arg.startsWith('--listen=')) return `--listen=127.0.0.1:${port}`;
		if (arg.startsWith('--ingest-listen=')) {
			if (ingestPort === undefined) throw new Error(`${arg}: no local port given for it`);
			return `--ingest-listen=127.0.0.1:${ingestPort}`;
		}

		const match = /^(--[a-z-]+=)(\/.*)$/.exec(arg);
		if (match && mountPaths.some((mount) => match[2]!.startsWith(`${mount}/`))) return `${match[1]}${layout.hostPath(match[2]!)}`;
		return arg;
	});
}

function containerEnv(container: Container, namespace: string): Record<string, string> {
	const env: Record<string, string> = {
		// What a container gets: the image's ENV, a PATH, a HOME — the distroless nonroot user's, absent here.
		...layout.env,
		PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
		HOME: '/home/nonroot',
		NODE_PATH: '',
		TMPDIR: layout.hostPath('/tmp'),
	};
	for (const entry of container.env ?? []) {
		if (entry.value !== undefined) env[entry.name] = entry.value;
		else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[entry.name] = namespace;
	}

	return env;
}

interface Started {
	child: ChildProcess;
	output: () => string;
	exited: Promise<number | null>;
}

/** Starts ENTRYPOINT + args from the layout, in the image's WORKDIR, as the image's user. */
function startFromImage(args: string[], env: Record<string, string>): Started {
	const {file, args: commandArgs} = layout.command(args);
	const child = spawn(file, commandArgs, {
		cwd: layout.hostPath(layout.workdir),
		env,
		stdio: ['ignore', 'pipe', 'pipe'],
		...(switchUser ? {uid: imageUid, gid: imageUid} : {}),
	});
	children.push(child);
	let output = '';
	child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	return {child, output: () => output, exited};
}

beforeAll(() => {
	layout = assembleImageLayout();
	if (switchUser) return;
	// Not root: the image's files read-only to us, as a read-only root filesystem would make them. (Not /nodejs: the
	// stand-in Node may be a hard link to this machine's own.)
	spawnSync('chmod', ['-R', 'a-w', layout.hostPath('/app')]);
});

afterAll(async () => {
	for (const child of children) {
		if (child.exitCode === null && child.signalCode === null && child.pid) {
			const exited = new Promise((resolve) => child.once('exit', resolve));
			process.kill(child.pid, 'SIGKILL');
			await exited;
		}
	}

	if (!layout) return;
	if (!switchUser) spawnSync('chmod', ['-R', 'u+w', layout.hostPath('/app')]);
	layout.remove();
});

describe('deploy/Dockerfile', () => {
	const stages = parseDockerfile(readFileSync(path.join(repoRoot, 'deploy/Dockerfile'), 'utf8'));
	const runtime = stages.at(-1)!;

	it('builds on node:24-slim and runs on a distroless Node 24 base as a numeric non-root user', () => {
		expect(stages.map((stage) => stage.base)).toEqual(['node:24-slim', 'gcr.io/distroless/nodejs24-debian12:nonroot']);
		const user = runtime.instructions.find((instruction) => instruction.keyword === 'USER')?.value;
		expect(user).toBe(`${imageUid}:${imageUid}`);
	});

	it('copies into the runtime stage only the bundle and package.json from the build stage', () => {
		const copies = runtime.instructions.filter((instruction) => instruction.keyword === 'COPY').map(parseCopy);
		expect(copies.every((copy) => copy.from === 'build')).toBe(true);
		expect(copies.flatMap((copy) => copy.sources).sort()).toEqual(['/app/dist/', '/app/package.json']);
	});

	it('starts the modeldeck CLI, with the agent as the default subcommand, so Jobs can pass `agent loadtest-worker …`', () => {
		expect(layout.entrypoint).toEqual(['/nodejs/bin/node', '--enable-source-maps', '/app/dist/cli.js']);
		expect(layout.cmd).toEqual(['agent']);
	});

	it('sends only what the build needs into the build context', () => {
		const included = dockerignoreFilter(readFileSync(path.join(repoRoot, 'deploy/Dockerfile.dockerignore'), 'utf8'));
		for (const file of [
			'package.json',
			'package-lock.json',
			'tsconfig.json',
			'scripts/build.ts',
			'scripts/patch-dependencies.ts',
			'source/cli.tsx',
			'source/agent/main.ts',
		]) {
			expect(included(file), file).toBe(true);
		}

		for (const file of [
			'node_modules/ws/index.js',
			'dist/cli.js',
			'.git/config',
			'test/unit/x.test.ts',
			'harness/go/bin/etcd',
			'scripts/screenshots.ts',
			'.notes/x.md',
			'kubeconfig',
		]) {
			expect(included(file), file).toBe(false);
		}
	});
});

describe('the runtime image layout', () => {
	it('holds the bundle and package.json, and no node_modules', () => {
		expect(layout.files).toContain('/app/dist/cli.js');
		expect(layout.files).toContain('/app/package.json');
		const unexpected = layout.files.filter((file) => !file.startsWith('/app/dist/') && file !== '/app/package.json');
		expect(unexpected).toEqual([]);
		expect(layout.files.filter((file) => file.split('/').includes('node_modules'))).toEqual([]);
		// Nothing above the layout resolves bare imports either.
		for (let directory = layout.root; directory !== path.dirname(directory); directory = path.dirname(directory)) {
			expect(existsSync(path.join(directory, 'node_modules')), directory).toBe(false);
		}
	});

	it('runs `modeldeck agent --help` and `modeldeck model-server --help`', () => {
		for (const subcommand of ['agent', 'model-server']) {
			const {file, args} = layout.command([subcommand, '--help']);
			const result = spawnSync(file, args, {
				cwd: layout.hostPath('/app'),
				env: {PATH: '/usr/bin:/bin', HOME: '/home/nonroot', NODE_PATH: ''},
				encoding: 'utf8',
				...(switchUser ? {uid: imageUid, gid: imageUid} : {}),
			});
			expect(result.stderr).toBe('');
			expect(result.status).toBe(0);
			expect(result.stdout).toContain(`Usage: modeldeck ${subcommand}`);
		}
	});
});

describe('started as the manifests start it', () => {
	const base = kustomize('deploy/base');
	const example = kustomize('deploy/example');
	const agentDeployment = deployment(base, 'modeldeck-agent');
	let agentUrl: string;
	let ingestUrl: string;
	let agent: Started;
	let imageFilesBefore: string[];

	beforeAll(async () => {
		const {container, volumes} = agentDeployment;
		const mounts = container.volumeMounts ?? [];
		for (const mount of mounts) {
			const volume = volumes.find((candidate) => candidate['name'] === mount.name)!;
			if (volume['emptyDir']) emptyDir(mount.mountPath);
			else if (volume['configMap']) {
				const configMap = base.find((object) => object.kind === 'ConfigMap' && object.metadata.name === volume['configMap'].name);
				if (!configMap) throw new Error(`volume ${mount.name}: no ConfigMap ${volume['configMap'].name} in deploy/base`);
				const directory = layout.hostPath(mount.mountPath);
				mkdirSync(directory, {recursive: true});
				for (const [key, value] of Object.entries(configMap['data'] as Record<string, string>)) {
					writeFileSync(path.join(directory, key), value);
					chmodSync(path.join(directory, key), 0o444);
				}
			}
		}

		imageFilesBefore = [...snapshot(layout.hostPath('/app')), ...snapshot(layout.hostPath('/nodejs'))];
		const port = await freePort();
		const ingestPort = await freePort();
		agentUrl = `http://127.0.0.1:${port}`;
		ingestUrl = `http://127.0.0.1:${ingestPort}`;
		// No Kubernetes here, so the agent cannot check tokens: --no-auth (it refuses to start without credentials otherwise).
		const args = [
			...localArgs(
				container.args,
				mounts.map((mount) => mount.mountPath),
				port,
				ingestPort,
			),
			'--no-auth',
		];
		agent = startFromImage(args, containerEnv(container, 'modeldeck'));
		await eventually(`the agent to listen (output: ${agent.output()})`, 20_000, () => {
			if (agent.child.exitCode !== null) throw new Error(`the agent exited with ${agent.child.exitCode}: ${agent.output()}`);
			return agent.output().includes('modeldeck agent listening');
		});
	});

	it('runs the Deployment’s args as the image’s user', () => {
		expect(agentDeployment.container.args[0]).toBe('agent');
		// Load-test workers run the agent's own image.
		expect(agentDeployment.container.env?.find((entry) => entry.name === 'MODELDECK_IMAGE')?.value).toBe(agentDeployment.container.image);
		const status = readFileSync(`/proc/${agent.child.pid}/status`, 'utf8');
		const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
		expect(uid).toBe(switchUser ? imageUid : process.getuid!());
	});

	it('answers /healthz, /readyz and /metrics', async () => {
		const health = await fetch(`${agentUrl}/healthz`);
		expect(health.status).toBe(200);
		const ready = await fetch(`${agentUrl}/readyz`);
		expect(ready.status).toBe(200);
		expect(await ready.json()).toMatchObject({ok: true});
		const metrics = await (await fetch(`${agentUrl}/metrics`)).text();
		expect(metrics).toContain('modeldeck_agent_ingested_total');
		expect(metrics).toContain('modeldeck_agent_process_resident_memory_bytes');
	});

	it('takes prediction logs on its ingest port only, as the NetworkPolicy expects', async () => {
		const log = {
			method: 'POST',
			headers: {'content-type': 'application/json'},
			body: JSON.stringify({requestId: 'port-check', model: 'fraud', namespace: 'modeldeck-example', version: 'v1'}),
		};
		const onApiPort = await fetch(`${agentUrl}/v1/logs`, log);
		expect(onApiPort.status).toBe(404);
		expect(((await onApiPort.json()) as {error: string}).error).toContain('--ingest-listen');
		expect((await fetch(`${ingestUrl}/v1/logs`, log)).status).toBe(200);
		expect((await fetch(`${ingestUrl}/v1/predictions`)).status).toBe(404);
	});

	it('keeps its SQLite store on the /data volume', () => {
		const dbArg = agentDeployment.container.args.find((arg) => arg.startsWith('--db='))!;
		expect(dbArg).toMatch(/^--db=\/data\//);
		expect(existsSync(layout.hostPath(dbArg.slice('--db='.length)))).toBe(true);
	});

	it('stores the predictions that the example model server, from the same image, logs to it', async () => {
		const {container} = deployment(example, 'fraud-v2');
		expect(container.image).toBe(agentDeployment.container.image);
		expect(container.args[0]).toBe('model-server');
		// The example logs to the agent's Service, its `ingest` port and the ingest path as deploy/base defines them; that
		// port leads to the container port the agent's --ingest-listen serves.
		const service = base.find((object) => object.kind === 'Service' && object.metadata.name === 'modeldeck-agent')!;
		const servicePort = ((service['spec'] as any).ports as Array<{name: string; port: number; targetPort: string}>).find(
			(candidate) => candidate.name === 'ingest',
		)!;
		const containerPort = (agentDeployment.container as any).ports.find(
			(candidate: {name: string}) => candidate.name === servicePort.targetPort,
		) as {containerPort: number};
		expect(agentDeployment.container.args).toContain(`--ingest-listen=0.0.0.0:${containerPort.containerPort}`);
		const logUrl = new URL(container.args.find((arg) => arg.startsWith('--log-url='))!.slice('--log-url='.length));
		expect(logUrl.host).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${servicePort.port}`);
		expect(logUrl.pathname).toBe('/v1/logs');

		const port = await freePort();
		const args = localArgs(container.args, [], port).map((arg) =>
			arg.startsWith('--log-url=') ? `--log-url=${ingestUrl}${logUrl.pathname}` : arg,
		);
		const server = startFromImage(args, containerEnv(container, 'modeldeck-example'));
		await eventually(`the model server to listen (output: ${server.output()})`, 20_000, () => {
			if (server.child.exitCode !== null) throw new Error(`the model server exited with ${server.child.exitCode}: ${server.output()}`);
			return server.output().includes('listening on');
		});

		const response = await fetch(`http://127.0.0.1:${port}/v2/models/fraud/infer`, {
			method: 'POST',
			headers: {'content-type': 'application/json', 'ce-id': 'image-test-1'},
			body: JSON.stringify({inputs: [{name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 0.2, 3]}]}),
		});
		expect(response.status).toBe(200);
		const predictions = await eventually('the prediction in the agent', 15_000, async () => {
			const found = (await (await fetch(`${agentUrl}/v1/predictions?requestId=image-test-1`)).json()) as Array<Record<string, unknown>>;
			return found.length > 0 && found;
		});
		expect(predictions[0]).toMatchObject({requestId: 'image-test-1', model: 'fraud', version: 'v2', namespace: 'modeldeck-example'});
		const metrics = await (await fetch(`${agentUrl}/metrics`)).text();
		expect(metrics).toMatch(/modeldeck_agent_ingested_total\{format="kserve"\} 2\b/);

		process.kill(server.child.pid!, 'SIGTERM');
		expect(await server.exited).toBe(0);
	});

	it('writes nothing into the image’s files, and stops cleanly on SIGTERM', async () => {
		process.kill(agent.child.pid!, 'SIGTERM');
		expect(await agent.exited).toBe(0);
		expect([...snapshot(layout.hostPath('/app')), ...snapshot(layout.hostPath('/nodejs'))]).toEqual(imageFilesBefore);
		expect(agent.output()).not.toMatch(/EACCES|EROFS|permission denied/i);
	});
});
