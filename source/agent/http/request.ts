/** Reading a request: its body within a limit, the caller's token, and the query parameters every read shares. */
import type http from 'node:http';
import {forwardedTokenHeader} from '../../protocol/agent.ts';
import type {AgentCore} from '../agent.ts';
import type {Identity} from '../auth/reviewer.ts';
import {HttpProblem} from '../refusal.ts';
import {maxQueryLimit} from '../store/prediction-query.ts';

/** What a body may hold, and how a 413 says it. */
export interface BodyLimit {
	bytes: number;
	/** The 413's message for a body that declared `declared` bytes in Content-Length, or (undefined) turned out larger. */
	tooLarge: (declared: number | undefined) => string;
}

/** The ingest and action limit, set with --max-body-bytes. */
export const flagLimit = (bytes: number): BodyLimit => ({
	bytes,
	tooLarge: (declared) =>
		declared === undefined
			? `the body is over the limit of ${bytes} bytes (--max-body-bytes)`
			: `the body is ${declared} bytes; the limit is ${bytes} bytes (--max-body-bytes)`,
});

export function readBody(request: http.IncomingMessage, {bytes: limit, tooLarge}: BodyLimit): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const declared = Number(request.headers['content-length']);
		if (Number.isFinite(declared) && declared > limit) {
			reject(new HttpProblem(413, tooLarge(declared)));
			return;
		}

		const chunks: Buffer[] = [];
		let size = 0;
		let failed = false;
		request.on('data', (chunk: Buffer) => {
			if (failed) return;
			size += chunk.length;
			if (size > limit) {
				failed = true;
				reject(new HttpProblem(413, tooLarge(undefined)));
				return;
			}

			chunks.push(chunk);
		});
		request.on('end', () => {
			if (!failed) resolve(Buffer.concat(chunks));
		});
		request.on('error', (error) => {
			if (!failed) reject(new HttpProblem(400, `could not read the body: ${error.message}`));
			failed = true;
		});
	});
}

export function tokenFrom(headers: http.IncomingHttpHeaders): string | undefined {
	const authorization = headers.authorization;
	const bearer = authorization && /^bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
	if (bearer) return bearer;
	const forwarded = headers[forwardedTokenHeader];
	const value = Array.isArray(forwarded) ? forwarded[0] : forwarded;
	if (!value) return undefined;
	return /^bearer\s+(\S+)\s*$/i.exec(value)?.[1] ?? value.trim();
}

/** The caller behind the request's token. Throws HttpProblem 401 (no or bad token) or 503 (could not ask). */
export async function identify(core: AgentCore, request: http.IncomingMessage): Promise<Identity> {
	return core.authenticate(tokenFrom(request.headers));
}

export function parseTime(text: string | null, name: string): number | undefined {
	if (text === null || text === '') return undefined;
	const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
	if (!Number.isFinite(value)) {
		throw new HttpProblem(
			400,
			`${name} must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z), got "${text.slice(0, 40)}"`,
		);
	}

	return value;
}

export function parseLimit(text: string | null, fallback: number): number {
	if (text === null || text === '') return fallback;
	const value = Number(text);
	if (!Number.isInteger(value) || value < 1 || value > maxQueryLimit) {
		throw new HttpProblem(400, `limit must be an integer from 1 to ${maxQueryLimit}, got "${text.slice(0, 20)}"`);
	}

	return value;
}
