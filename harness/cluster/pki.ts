// The cluster's credentials: its CA and certificates (made with openssl), the service-account signing key, and the
// static tokens of people (admin, viewer, operator) and of the components, all in the state dir's pki/.

import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import path from 'node:path';

/** The kubernetes Service's address, in the API server's certificate. */
export const SERVICE_IP = '10.96.0.1';

export interface Tokens {
	admin: string;
	viewer: string;
	operator: string;
}

/** One system:masters user per component. */
export interface ComponentTokens {
	kcm: string;
	scheduler: string;
	kwok: string;
}

function token(): string {
	return randomBytes(24).toString('hex');
}

/** New tokens for people and components, written to pki/tokens.csv (the API server's --token-auth-file). */
export function writeTokens(pki: string): {tokens: Tokens; componentTokens: ComponentTokens; tokenFile: string} {
	const tokens: Tokens = {admin: token(), viewer: token(), operator: token()};
	const componentTokens: ComponentTokens = {kcm: token(), scheduler: token(), kwok: token()};
	const tokenFile = path.join(pki, 'tokens.csv');
	writeFileSync(
		tokenFile,
		[
			`${tokens.admin},admin,admin,"system:masters"`,
			`${tokens.viewer},viewer,viewer`,
			`${tokens.operator},operator,operator`,
			`${componentTokens.kcm},system:kube-controller-manager,kcm,"system:masters"`,
			`${componentTokens.scheduler},system:kube-scheduler,scheduler,"system:masters"`,
			`${componentTokens.kwok},kwok,kwok,"system:masters"`,
			'',
		].join('\n'),
		{mode: 0o600},
	);
	return {tokens, componentTokens, tokenFile};
}

/** The CAs, certificates and keys, made in the directory `pki`. */
export function makePki(pki: string): void {
	const openssl = (args: string[]) => {
		try {
			execFileSync('openssl', args, {cwd: pki, stdio: ['ignore', 'pipe', 'pipe']});
		} catch (err) {
			const e = err as {stderr?: Buffer; message: string};
			throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() || e.message}`);
		}
	};
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'];
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-keyout',
		'ca.key',
		'-out',
		'ca.crt',
		'-subj',
		'/CN=modeldeck-local-ca',
		'-addext',
		'basicConstraints=critical,CA:TRUE',
		'-addext',
		'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
	]);
	const sans = [
		'DNS:localhost',
		'DNS:kubernetes',
		'DNS:kubernetes.default',
		'DNS:kubernetes.default.svc',
		'DNS:kubernetes.default.svc.cluster.local',
		'IP:127.0.0.1',
		`IP:${SERVICE_IP}`,
	].join(',');
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'apiserver.key',
		'-out',
		'apiserver.crt',
		'-subj',
		'/CN=kube-apiserver',
		'-addext',
		`subjectAltName=${sans}`,
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=serverAuth',
	]);
	// The aggregation layer's front proxy: its own CA (which kube-controller-manager and kube-scheduler read from
	// kube-system/extension-apiserver-authentication) and the client certificate the API server proxies with.
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-keyout',
		'front-proxy-ca.key',
		'-out',
		'front-proxy-ca.crt',
		'-subj',
		'/CN=modeldeck-front-proxy-ca',
		'-addext',
		'basicConstraints=critical,CA:TRUE',
		'-addext',
		'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
	]);
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'front-proxy-ca.crt',
		'-CAkey',
		'front-proxy-ca.key',
		'-keyout',
		'front-proxy-client.key',
		'-out',
		'front-proxy-client.crt',
		'-subj',
		'/CN=front-proxy-client',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=clientAuth',
	]);
	// kwok's server as the nodes' kubelet (serving, checked by the API server against this CA), and the API server's
	// client certificate towards kubelets.
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'kwok-kubelet.key',
		'-out',
		'kwok-kubelet.crt',
		'-subj',
		'/CN=kwok-kubelet',
		'-addext',
		'subjectAltName=IP:127.0.0.1,DNS:localhost',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=serverAuth',
	]);
	openssl([
		'req',
		'-x509',
		'-new',
		...ec,
		'-CA',
		'ca.crt',
		'-CAkey',
		'ca.key',
		'-keyout',
		'apiserver-kubelet-client.key',
		'-out',
		'apiserver-kubelet-client.crt',
		'-subj',
		'/O=system:masters/CN=kube-apiserver-kubelet-client',
		'-addext',
		'basicConstraints=critical,CA:FALSE',
		'-addext',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'-addext',
		'extendedKeyUsage=clientAuth',
	]);
	openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
	openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}
