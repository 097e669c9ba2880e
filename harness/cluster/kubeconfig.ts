// Kubeconfigs: one per component (its own token, in kubeconfigs/), and the one people and tests use (contexts admin,
// viewer and operator), all pointing at the API server and trusting the harness CA.

import {writeFileSync} from 'node:fs';
import path from 'node:path';
import {OPERATOR_NAMESPACE} from './bootstrap.ts';
import type {Tokens} from './pki.ts';

export interface KubeconfigUser {
	name: string;
	token: string;
	namespace: string;
}

/** kubeconfigs/<name>.kubeconfig for a component, as the user of `token`; returns its path. */
export function writeComponentKubeconfig(dir: string, server: string, caData: Buffer, name: string, token: string): string {
	const file = path.join(dir, 'kubeconfigs', `${name}.kubeconfig`);
	writeFileSync(file, kubeconfigYaml(server, caData, [{name, token, namespace: 'default'}], name), {mode: 0o600});
	return file;
}

/** <dir>/kubeconfig with the contexts admin (current), viewer and operator; returns its path. */
export function writeUserKubeconfig(dir: string, server: string, caData: Buffer, tokens: Tokens): string {
	const kubeconfig = path.join(dir, 'kubeconfig');
	writeFileSync(
		kubeconfig,
		kubeconfigYaml(
			server,
			caData,
			[
				{name: 'admin', token: tokens.admin, namespace: 'default'},
				{name: 'viewer', token: tokens.viewer, namespace: OPERATOR_NAMESPACE},
				{name: 'operator', token: tokens.operator, namespace: OPERATOR_NAMESPACE},
			],
			'admin',
		),
		{mode: 0o600},
	);
	return kubeconfig;
}

function kubeconfigYaml(server: string, caData: Buffer, users: KubeconfigUser[], current: string): string {
	const ca = caData.toString('base64');
	const lines = [
		'apiVersion: v1',
		'kind: Config',
		'clusters:',
		'- name: modeldeck-local',
		'  cluster:',
		`    server: ${server}`,
		`    certificate-authority-data: ${ca}`,
		'users:',
		...users.flatMap((u) => [`- name: ${u.name}`, '  user:', `    token: ${u.token}`]),
		'contexts:',
		...users.flatMap((u) => [
			`- name: ${u.name}`,
			'  context:',
			'    cluster: modeldeck-local',
			`    user: ${u.name}`,
			`    namespace: ${u.namespace}`,
		]),
		`current-context: ${current}`,
		'preferences: {}',
		'',
	];
	return lines.join('\n');
}
