// RBAC objects as the harness creates them (each with the API path of its collection): roles, cluster roles and their
// bindings to one user. Used by the cluster's bootstrap objects and by the Argo Rollouts controller's grants.

const RBAC_API = '/apis/rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule {
	apiGroups: string[];
	resources: string[];
	verbs: string[];
}

/** An RBAC object and the collection it is POSTed to. */
export type RbacObject = [
	collection: string,
	object: {
		apiVersion: string;
		kind: string;
		metadata: {name: string; namespace?: string; labels?: Record<string, string>};
		[field: string]: unknown;
	},
];

/** A ClusterRole, or with `namespace` a Role there. */
export function role(name: string, rules: PolicyRule[], options: {namespace?: string; labels?: Record<string, string>} = {}): RbacObject {
	const {namespace, labels} = options;
	return [
		namespace ? `${RBAC_API}/namespaces/${namespace}/roles` : `${RBAC_API}/clusterroles`,
		{
			apiVersion: `${RBAC_GROUP}/v1`,
			kind: namespace ? 'Role' : 'ClusterRole',
			metadata: {name, ...(namespace ? {namespace} : {}), ...(labels ? {labels} : {})},
			rules,
		},
	];
}

/**
 * A ClusterRoleBinding of the ClusterRole `roleName` to `user`, or with `namespace` a RoleBinding there of the Role
 * `roleName` (or of a ClusterRole, with `roleKind`).
 */
export function binding(
	name: string,
	roleName: string,
	user: string,
	options: {namespace?: string; roleKind?: 'Role' | 'ClusterRole'} = {},
): RbacObject {
	const {namespace} = options;
	return [
		namespace ? `${RBAC_API}/namespaces/${namespace}/rolebindings` : `${RBAC_API}/clusterrolebindings`,
		{
			apiVersion: `${RBAC_GROUP}/v1`,
			kind: namespace ? 'RoleBinding' : 'ClusterRoleBinding',
			metadata: {name, ...(namespace ? {namespace} : {})},
			roleRef: {apiGroup: RBAC_GROUP, kind: options.roleKind ?? (namespace ? 'Role' : 'ClusterRole'), name: roleName},
			subjects: [{apiGroup: RBAC_GROUP, kind: 'User', name: user}],
		},
	];
}

/** A (Cluster)Role named `name` with `rules`, and its binding of the same name to `user`. */
export function grant(name: string, user: string, rules: PolicyRule[], namespace?: string): RbacObject[] {
	const scope = namespace ? {namespace} : {};
	return [role(name, rules, scope), binding(name, name, user, scope)];
}
