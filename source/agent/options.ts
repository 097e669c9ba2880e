/** What the agent core is told: its store, its limits, who may do what, and the services it acts on. */
import type {DeliveryPort} from '../domain/delivery.ts';
import type {CanaryJudge, FlagDetector} from '../domain/analysis.ts';
import type {ClusterPort, MetricsPort} from '../domain/ports.ts';
import type {VersionRef} from '../domain/types.ts';
import type {LoadJobRunner} from './actions/load-test.ts';
import type {EventRecorder} from './audit.ts';
import type {ActionPlanner} from './auth/permissions.ts';
import type {AccessReviewer} from './auth/reviewer.ts';
import type {AlertFormat} from './guard/alerts.ts';
import type {GuardSettingsFile} from './guard/settings.ts';
import type {RetentionPolicy} from './store/retention-policy.ts';
import type {HubOptions} from './stream/hub.ts';

export interface AgentCoreOptions {
	/** SQLite file, or `:memory:` (the default: predictions do not survive a restart). */
	dbPath?: string;
	/** Hard limit on the SQLite file (PRAGMA max_page_count): past it ingest answers 503. Default: none. */
	storeMaxBytes?: number;
	retention?: Partial<RetentionPolicy>;
	/**
	 * How often old predictions are deleted. Default 10 s: between two passes the table holds up to maxRows plus
	 * what arrived meanwhile (at 5,000/s, 60 s would be 300,000 more rows: 60% more file, or memory with `:memory:`).
	 */
	retentionIntervalMs?: number;
	/** How long a request or response half waits for its partner. Default 30 s. */
	joinTimeoutMs?: number;
	stream?: HubOptions;
	/**
	 * Who callers are and what they may do. Required unless `noAuth`. Wrapped in a 10-second cache of positive
	 * answers (`reviewCacheMs`).
	 */
	reviewer?: AccessReviewer;
	reviewCacheMs?: number;
	/** Local demos only: every caller may do everything. Loudly logged. */
	noAuth?: boolean;
	/** Carries out traffic actions, and tells the agent which models exist. */
	cluster?: ClusterPort;
	/**
	 * Says what each traffic action will write (authorised write by write) and reads models afresh (the audit's
	 * `after`). Default: the cluster, when it can (the Kubernetes source can).
	 */
	planner?: ActionPlanner;
	/** Kubernetes Events for the audit trail. */
	events?: EventRecorder;
	/** The API server's reachability, for /readyz. */
	apiServerReachable?: () => Promise<{ok: boolean; message: string}>;
	/** Where a version's OIP v2 server is. Default: its Service, `http://{service}.{namespace}.svc:{modelPort}`. */
	resolveEndpoint?: (target: VersionRef) => string | Promise<string>;
	/** Port of model Services for the default resolveEndpoint. Default 80. */
	modelPort?: number;
	/** Load tests above this rate per version run as a Job (when `jobRunner` is set). Default 2,000. */
	maxLocalRps?: number;
	jobRunner?: LoadJobRunner;
	/** Seconds from creating a load-test Job to its workers' shared start time. Default 30. */
	jobStartDelaySeconds?: number;
	metrics?: MetricsPort;
	judge?: CanaryJudge;
	guard?: {
		enabled: boolean;
		dryRun?: boolean;
		settingsFile?: () => GuardSettingsFile;
		/** The console's detectors the guard runs. Default: the robust z-score detector. */
		detectors?: readonly FlagDetector[];
		/** How often due models are checked. Default 5 s. */
		tickMs?: number;
	};
	/** Progressive deliveries (`deliver`): default, the cluster's own DeliveryPort when it has one (the Kubernetes source). */
	deliveryPort?: DeliveryPort;
	alertWebhook?: string;
	alertFormat?: AlertFormat;
	/** Told about everything worth a log line. Tokens never reach it. */
	log?: (line: string) => void;
	fetch?: typeof fetch;
	now?: () => number;
}
