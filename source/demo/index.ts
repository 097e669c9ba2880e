export {createDemoSources, type DemoOptions, type DemoSources} from './create-demo-sources.ts';
export {
	defaultScenario,
	isScenarioName,
	type ScenarioName,
	scenarioDescriptions,
	scenarioNames,
} from './scenarios.ts';
