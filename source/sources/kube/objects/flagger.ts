/** Flagger (flagger.app/v1beta1): Canaries, as the API server sends them. Only the fields modeldeck reads; everything is optional (outside input). */
import type {KubeObject} from '../objects.ts';

export interface FlaggerCanary extends KubeObject {
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}
