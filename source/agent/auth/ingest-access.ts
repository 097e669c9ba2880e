/**
 * Who may POST logs. Model servers' loggers cannot send Kubernetes tokens, so ingest is confined by NetworkPolicy
 * in the cluster and, optionally, here: a shared token (header `Authorization: Bearer`, `X-Modeldeck-Ingest-Token`
 * or `?token=` in the logger URL, since KServe's logger can set no headers) and an IP allow-list of CIDRs.
 */
import {createHash, timingSafeEqual} from 'node:crypto';
import {BlockList, isIP} from 'node:net';

export function parseCidr(cidr: string): {address: string; prefix: number; family: 'ipv4' | 'ipv6'} | string {
	const [address = '', prefixText, extra] = cidr.trim().split('/');
	if (extra !== undefined) return `"${cidr}" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.0/8)`;
	const version = isIP(address);
	if (version === 0) return `"${cidr}" does not start with an IP address (e.g. 10.0.0.0/8 or fd00::/8)`;
	const family = version === 4 ? 'ipv4' : 'ipv6';
	const maxPrefix = version === 4 ? 32 : 128;
	const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
	if (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
		return `"${cidr}" has a bad prefix length; it must be 0–${maxPrefix}`;
	}

	return {address, prefix, family};
}

export class IpAllowList {
	readonly #list = new BlockList();
	readonly size: number;

	/** Throws an Error saying which CIDR is bad. */
	constructor(cidrs: string[]) {
		for (const cidr of cidrs) {
			const parsed = parseCidr(cidr);
			if (typeof parsed === 'string') throw new Error(parsed);
			this.#list.addSubnet(parsed.address, parsed.prefix, parsed.family);
		}

		this.size = cidrs.length;
	}

	allows(remoteAddress: string | undefined): boolean {
		if (this.size === 0) return true;
		if (!remoteAddress) return false;
		// An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
		const address = remoteAddress.startsWith('::ffff:') && isIP(remoteAddress.slice(7)) === 4 ? remoteAddress.slice(7) : remoteAddress;
		const version = isIP(address);
		if (version === 0) return false;
		return this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
	}
}

function digest(text: string): Buffer {
	return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
	if (presented === undefined) return false;
	return timingSafeEqual(digest(presented), digest(expected));
}
