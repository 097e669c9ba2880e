/** Reading and writing the objects a delivery touches, with errors said as the console says them (errors.ts). */
import {actionError, statusOf} from '../errors.ts';
import {type KubeHttp, type ResourceType, resourcePath} from '../http.ts';
import type {KubeList, KubeObject} from '../objects.ts';

export class KubeObjects {
	readonly #http: () => KubeHttp;

	constructor(http: () => KubeHttp) {
		this.#http = http;
	}

	/** The client, for requests these helpers do not cover. */
	get http(): KubeHttp {
		return this.#http();
	}

	/** Every object of TYPE in NAMESPACE; none when the kind is not served or not for this user. */
	async list<T>(type: ResourceType, namespace: string): Promise<T[]> {
		const http = this.#http();
		try {
			return ((await http.get<KubeList>(resourcePath(type, namespace)))?.items ?? []) as T[];
		} catch (error) {
			if (statusOf(error) === 404 || statusOf(error) === 403) return [];
			throw actionError(error, {verb: 'list', resource: type.plural, namespace, server: http.server, user: http.user});
		}
	}

	/** The object, or undefined when there is none. */
	async get<T>(type: ResourceType, namespace: string, name: string): Promise<T | undefined> {
		const http = this.#http();
		try {
			return await http.get<T>(resourcePath(type, namespace, name));
		} catch (error) {
			if (statusOf(error) === 404) return undefined;
			throw actionError(error, {verb: 'get', resource: type.plural, name, namespace, server: http.server, user: http.user});
		}
	}

	/** Creates OBJECT unless it exists already (a runner repeating the effect after a restart). */
	async create(type: ResourceType, object: KubeObject): Promise<void> {
		const http = this.#http();
		const namespace = object.metadata?.namespace ?? '';
		try {
			await http.request('POST', resourcePath(type, namespace), {body: object});
		} catch (error) {
			if (statusOf(error) === 409) return;
			throw actionError(error, {verb: 'create', resource: type.plural, namespace, server: http.server, user: http.user});
		}
	}

	async patch(type: ResourceType, namespace: string, name: string, body: unknown, patchType: 'json' | 'merge'): Promise<void> {
		const http = this.#http();
		try {
			await http.patch(resourcePath(type, namespace, name), body, patchType);
		} catch (error) {
			throw actionError(error, {verb: 'patch', resource: type.plural, name, namespace, server: http.server, user: http.user});
		}
	}
}
