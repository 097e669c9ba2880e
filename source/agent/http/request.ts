/** Reading a request: its body within a limit, the caller's token, and the query parameters every read shares. */
import type http from 'node:http';
import {forwardedTokenHeader} from '../../protocol/agent.ts';
import type {AgentCore} from '../agent.ts';
import type {Identity} from '../auth/reviewer.ts';
import {HttpProblem} from '../refusal.ts';
import {maxQueryLimit} from '../store/prediction-query.ts';

/** What a body may hold, and how a 413 names the limit ("the limit", "the webhook's limit", with a hint after it). */
export interface BodyLimit {
	bytes: number;
	name: string;
	hint?: string;
}

/** The ingest limit, set with --max-body-bytes. */
export const flagLimit = (bytes: number): BodyLimit => ({bytes, name: 'the limit', hint: ' (--max-body-bytes)'});

/**
 * How much of an oversized body is read on and dropped, and for how long, before the 413 goes out. An HTTP client sends
 * its whole body before it reads the answer: a connection closed under it fails its write (EPIPE, "connection reset")
 * and the answer is lost with it. Past either bound the 413 goes out at once and the connection closes.
 */
const oversizeDrain = {bytes: 16 * 1024 * 1024, milliseconds: 10_000};

export function readBody(request: http.IncomingMessage, {bytes: limit, name, hint = ''}: BodyLimit): Promise<Buffer> {
	const tooLarge = (declared: number | undefined) =>
		declared === undefined
			? `the body is over ${name} of ${limit} bytes${hint}`
			: `the body is ${declared} bytes; ${name} is ${limit} bytes${hint}`;
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		/** The 413 waiting for the rest of the body to be read and dropped. */
		let refusal: HttpProblem | undefined;
		let settled = false;
		let timer: NodeJS.Timeout | undefined;
		const settle = (error: HttpProblem | undefined) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			if (error) reject(error);
			else resolve(Buffer.concat(chunks));
		};

		const refuse = (problem: HttpProblem, declared = 0) => {
			refusal = problem;
			chunks.length = 0;
			if (request.complete || declared - limit > oversizeDrain.bytes) settle(problem);
			else timer = setTimeout(() => settle(problem), oversizeDrain.milliseconds).unref();
		};

		const declared = Number(request.headers['content-length']);
		if (Number.isFinite(declared) && declared > limit) refuse(new HttpProblem(413, tooLarge(declared)), declared);
		request.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (refusal) {
				if (size > limit + oversizeDrain.bytes) settle(refusal);
			} else if (size > limit) refuse(new HttpProblem(413, tooLarge(undefined)));
			else chunks.push(chunk);
		});
		request.on('end', () => settle(refusal));
		request.on('error', (error) => settle(refusal ?? new HttpProblem(400, `could not read the body: ${error.message}`)));
		request.on('close', () => settle(refusal ?? new HttpProblem(400, 'the client closed the connection before the body ended')));
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
