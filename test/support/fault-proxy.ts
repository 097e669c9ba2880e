/**
 * A TCP proxy that injects network faults between a client and a real server (the API server, Prometheus, the agent),
 * switched at any moment by the test:
 *
 * - `pass`: bytes flow both ways.
 * - `refuse`: the server is gone — live connections are reset and new ones refused (the listener closes; with
 *   `{refuse: 'reset'}` it stays open and resets each new connection instead).
 * - `freeze`: the network holds everything — connections are accepted and kept, nothing is forwarded either way,
 *   nothing fails. What was sent meanwhile flows once the proxy passes again (as TCP delivers after an outage).
 * - `slow`: each chunk is delayed by `delayMs` (both ways, in order).
 * - `reset`: live connections are reset at once; new ones pass.
 *
 * TLS passes through untouched (the proxy never looks inside), so a kubeconfig pointed at the proxy on the same
 * address still verifies the API server's certificate.
 */
import net from 'node:net';

export type FaultMode = 'pass' | 'refuse' | 'freeze' | 'slow' | 'reset';

export interface FaultOptions {
	/** For `slow`: delay per chunk. Default 500 ms. */
	delayMs?: number;
	/** For `refuse`: close the listener (ECONNREFUSED, the default) or accept and reset (ECONNRESET). */
	refuse?: 'close' | 'reset';
}

export interface FaultProxy {
	readonly port: number;
	/** `http://127.0.0.1:PORT` */
	readonly url: string;
	readonly mode: FaultMode;
	/** Switch the fault; resolves once the new mode holds (the listener closed or opened again). */
	set(mode: FaultMode, options?: FaultOptions): Promise<void>;
	/** Live connections (held ones included). */
	connections(): number;
	close(): Promise<void>;
}

interface Direction {
	from: net.Socket;
	queue: Buffer[];
	/** A chunk is being held for `slow`. */
	delaying: boolean;
	/** The sender has finished: end the other side once everything queued is delivered. */
	ended: boolean;
}

interface Link {
	client: net.Socket;
	upstream: net.Socket | undefined;
	toUpstream: Direction;
	toClient: Direction;
	closed: boolean;
}

export async function startFaultProxy(target: {port: number; host?: string}): Promise<FaultProxy> {
	const host = target.host ?? '127.0.0.1';
	const links = new Set<Link>();
	let mode: FaultMode = 'pass';
	let options: FaultOptions = {};
	let port = 0;

	const flowing = () => mode === 'pass' || mode === 'slow' || mode === 'reset';

	const destroy = (link: Link, reset: boolean) => {
		if (link.closed) return;
		link.closed = true;
		links.delete(link);
		for (const socket of [link.client, link.upstream]) {
			if (!socket || socket.destroyed) continue;
			if (reset) socket.resetAndDestroy();
			else socket.destroy();
		}
	};

	const destinationOf = (link: Link, direction: Direction) => (direction === link.toUpstream ? link.upstream : link.client);

	const pump = (link: Link, direction: Direction) => {
		if (link.closed) return;
		if (!flowing()) {
			// Hold: stop reading too, so that what is held stays bounded (the kernel's buffers, then the sender's).
			if (direction.queue.length > 0) direction.from.pause();
			return;
		}

		if (direction === link.toUpstream && !link.upstream) connectUpstream(link);
		const destination = destinationOf(link, direction);
		if (!destination) return;
		// A chunk held back by `slow` goes first, whatever the mode now: its timer pumps again.
		if (direction.delaying) return;
		if (mode === 'slow') {
			if (direction.queue.length === 0) return finish(destination, direction);
			direction.delaying = true;
			const timer = setTimeout(() => {
				direction.delaying = false;
				if (link.closed) return;
				// The mode may have changed meanwhile: a frozen proxy holds this chunk too.
				if (!flowing()) return pump(link, direction);
				const chunk = direction.queue.shift();
				if (chunk) destination.write(chunk);
				if (direction.queue.length < 16) direction.from.resume();
				finish(destination, direction);
				pump(link, direction);
			}, options.delayMs ?? 500);
			timer.unref();
			return;
		}

		while (direction.queue.length > 0) {
			const chunk = direction.queue.shift()!;
			if (!destination.write(chunk)) {
				direction.from.pause();
				destination.once('drain', () => {
					direction.from.resume();
					pump(link, direction);
				});
				return;
			}
		}

		direction.from.resume();
		finish(destination, direction);
	};

	/** A sender that ended is ended on the other side too, after what it sent (a close must not lose an answer). */
	const finish = (destination: net.Socket, direction: Direction) => {
		if (direction.ended && direction.queue.length === 0 && !direction.delaying && !destination.writableEnded) destination.end();
	};

	const connectUpstream = (link: Link) => {
		const upstream = net.connect(target.port, host);
		link.upstream = upstream;
		link.toClient.from = upstream;
		upstream.on('data', (chunk: Buffer) => {
			link.toClient.queue.push(chunk);
			if (mode === 'slow' && link.toClient.queue.length >= 16) upstream.pause();
			pump(link, link.toClient);
		});
		upstream.on('connect', () => pump(link, link.toUpstream));
		upstream.on('error', () => destroy(link, false));
		// The server closed: the client gets what was sent first (held while frozen), then the close.
		upstream.on('end', () => {
			link.toClient.ended = true;
			pump(link, link.toClient);
		});
		upstream.on('close', (hadError) => {
			if (hadError) return destroy(link, false);
			link.toClient.ended = true;
			pump(link, link.toClient);
		});
	};

	const onConnection = (client: net.Socket) => {
		if (mode === 'refuse') {
			client.resetAndDestroy();
			return;
		}

		const link: Link = {
			client,
			upstream: undefined,
			toUpstream: {from: client, queue: [], delaying: false, ended: false},
			// `from` becomes the upstream socket when it is connected.
			toClient: {from: client, queue: [], delaying: false, ended: false},
			closed: false,
		};
		links.add(link);
		client.on('data', (chunk: Buffer) => {
			link.toUpstream.queue.push(chunk);
			if (mode === 'slow' && link.toUpstream.queue.length >= 16) client.pause();
			pump(link, link.toUpstream);
		});
		client.on('error', () => destroy(link, false));
		client.on('end', () => {
			link.toUpstream.ended = true;
			pump(link, link.toUpstream);
		});
		// The client is gone: nothing can reach it any more.
		client.on('close', () => destroy(link, false));
		// A frozen proxy accepts and holds: the upstream is reached only once bytes may flow.
		if (flowing()) connectUpstream(link);
	};

	let server = net.createServer(onConnection);
	const listen = () =>
		new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(port, '127.0.0.1', () => {
				server.off('error', reject);
				port = (server.address() as net.AddressInfo).port;
				resolve();
			});
		});
	const closeListener = () => new Promise<void>((resolve) => server.close(() => resolve()));
	await listen();

	const proxy: FaultProxy = {
		get port() {
			return port;
		},
		get url() {
			return `http://127.0.0.1:${port}`;
		},
		get mode() {
			return mode;
		},
		async set(next, nextOptions = {}) {
			const listening = server.listening;
			mode = next;
			options = nextOptions;
			if (next === 'refuse' || next === 'reset') {
				for (const link of [...links]) destroy(link, true);
			}

			if (next === 'refuse' && (nextOptions.refuse ?? 'close') === 'close') {
				if (listening) await closeListener();
			} else if (!listening) {
				server = net.createServer(onConnection);
				// The port was ours a moment ago; another process taking it meanwhile is not expected on a test machine.
				await listen();
			}

			for (const link of [...links]) {
				pump(link, link.toUpstream);
				pump(link, link.toClient);
			}
		},
		connections: () => links.size,
		async close() {
			mode = 'refuse';
			for (const link of [...links]) destroy(link, false);
			if (server.listening) await closeListener();
		},
	};
	return proxy;
}
