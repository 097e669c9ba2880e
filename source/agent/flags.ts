/**
 * The agent's flags, one table each for `modeldeck agent` and `modeldeck agent loadtest-worker`: the parser
 * (flags/parse.ts) and the help text are made from them.
 */
import {type FlagDef, flagHelp} from '../flags/parse.ts';

export const agentFlags: readonly FlagDef[] = [
	{name: 'listen', value: 'HOST:PORT', help: ['Address to listen on (default 0.0.0.0:8090)']},
	{
		name: 'ingest-listen',
		value: 'HOST:PORT',
		help: [
			'Serve POST /v1/logs here instead, and refuse it on --listen (so a NetworkPolicy',
			'can confine ingest to model pods and still open the API to the API server)',
		],
	},
	{name: 'kubeconfig', value: 'FILE', help: ['Kubeconfig (default: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config)']},
	{name: 'context', value: 'NAME', help: ['Kubeconfig context']},
	{name: 'db', value: 'PATH', help: ['SQLite file for predictions and the audit trail (default: in memory, lost on restart)']},
	{name: 'retention-hours', value: 'N', help: ['Keep predictions this long (default 24)']},
	{name: 'retention-max-rows', value: 'N', help: ['Keep at most this many predictions (default 1000000; 100000 in memory)']},
	{
		name: 'retention-max-mb',
		value: 'N',
		help: ["Keep the store's pages in use under N MB, deleting the oldest predictions (default: no limit)"],
	},
	{
		name: 'store-max-mb',
		value: 'N',
		help: [
			'Hard limit on the SQLite file: past it ingest answers 503 until retention frees pages',
			"(default: none; set it below the volume's size with room for the write-ahead log)",
		],
	},
	{name: 'join-timeout-seconds', value: 'N', help: ["Wait this long for a request's response before storing it incomplete (default 30)"]},
	{name: 'ingest-token', value: 'TOKEN', help: ['Shared token loggers must send (or $MODELDECK_INGEST_TOKEN)']},
	{name: 'allow-ip', value: 'CIDR', help: ['Accept logs only from these addresses (repeatable)'], multiple: true},
	{name: 'max-body-bytes', value: 'N', help: ['Largest log POST (default 1048576)']},
	{
		name: 'resume-buffer-events',
		value: 'N',
		help: ['Stream events kept for clients that resume (default 100000: 50 s at 2,000/s;', 'about 0.6 KB of memory each)'],
	},
	{name: 'prometheus', value: 'URL', help: ["Prometheus for the guard's metric history"]},
	{name: 'guard', help: ['Judge guarded canaries and roll back failing ones']},
	{name: 'guard-dry-run', help: ['Judge and report, but change nothing']},
	{name: 'guard-config', value: 'FILE', help: ['Guard settings per model, JSON or YAML (a mounted ConfigMap)']},
	{
		name: 'registry-config',
		value: 'FILE',
		help: [
			'Follow MLflow Model Registry aliases and roll out the versions they move to, JSON or',
			'YAML (see docs/registry.md); also serves POST /v1/registry/webhook',
		],
	},
	{name: 'alert-webhook', value: 'URL', help: ['Post guard alerts there (Alertmanager API or Slack incoming webhook)']},
	{
		name: 'alert-format',
		value: 'FORMAT',
		help: ['alertmanager or slack (default: slack for hooks.slack.com, else alertmanager)'],
	},
	{name: 'model-port', value: 'N', help: ["Port of model versions' Services (default 80)"]},
	{name: 'namespace', value: 'NS', help: ["The agent's own namespace, for load-test Jobs (default $POD_NAMESPACE or modeldeck)"]},
	{
		name: 'loadtest-image',
		value: 'IMAGE',
		help: ['Image of load-test workers (default $MODELDECK_IMAGE; without it tests run in the agent)'],
	},
	{name: 'loadtest-max-local-rps', value: 'N', help: ['Above this rate per version a load test runs as a Job (default 2000)']},
	{
		name: 'loadtest-service-account',
		value: 'NAME',
		help: ["Service account of load-test Job pods (default: the namespace's default account)"],
	},
	{
		name: 'loadtest-start-delay-seconds',
		value: 'N',
		help: ["Seconds from creating a load-test Job to its workers' shared start (default 30)"],
	},
	{name: 'no-auth', help: ['LOCAL DEMOS ONLY: no token checks, everyone may do everything']},
	{name: 'help', short: 'h', help: ['Show this help']},
];

export const loadtestWorkerFlags: readonly FlagDef[] = [
	{name: 'url', value: 'URL', help: ['The inference URL']},
	{name: 'body', value: 'JSON', help: ['The request body']},
	{name: 'rps', value: 'N', help: ['Requests per second (default 10)']},
	{name: 'duration', value: 'S', help: ['Seconds measured (default 10)']},
	{name: 'warmup', value: 'S', help: ['Seconds of warm-up before them (default 0)']},
	{name: 'start-at', value: 'TIME', help: ["The workers' shared start, e.g. 2026-03-01T03:00:00.000Z"]},
	{name: 'label', value: 'L', help: ['Name of this worker in the result (default: the URL)']},
];

export const agentUsage = `Usage: modeldeck agent [options]
       modeldeck agent loadtest-worker --url URL --body JSON [--rps N] [--duration S] [--warmup S] [--start-at TIME] [--label L]

Receives prediction logs from model servers, streams them to consoles, carries out authorised and audited
actions (canary weight, promote, rollback, smoke and load tests) and guards canaries.

Options:
${flagHelp(agentFlags, '  ')}

Options of loadtest-worker (one worker of a load-test Job):
${flagHelp(loadtestWorkerFlags, '  ')}
`;
