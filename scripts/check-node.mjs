// The Node.js version check that every entry point runs first: `npm start` and `npm test` run this file, and
// scripts/build.ts copies it to the top of dist/cli.js, the bin, which imports the real bundle (dist/main.js) only
// when the check passes. On an older Node the program would otherwise fail far from the cause (".ts" is an unknown
// file extension, "Cannot read properties of undefined (reading 'bind')"). So the file is written in the oldest
// syntax an ES module can have — var, function, string concatenation, no optional chaining or `??` — and imports
// nothing but `fs` by its bare name: whatever Node reads it must get as far as printing the message.
// test/e2e/node-version.test.ts runs it with this machine's own Node 20 and checks that `needed` matches the engines
// range in package.json.
import fs from 'fs';

var needed = [22, 19];
var found = process.versions.node;
var nodeTooOld = olderThanNeeded(found);

function olderThanNeeded(version) {
	var parts = version.split('.');
	var major = Number(parts[0]);
	var minor = Number(parts[1]);
	return major < needed[0] || (major === needed[0] && minor < needed[1]);
}

/** Whether `npm install -g --prefix ~/.node24 node@24` has already put a new enough Node there. */
function node24Installed(home) {
	try {
		var manifest = JSON.parse(fs.readFileSync(home + '/.node24/lib/node_modules/node/package.json', 'utf8'));
		return fs.existsSync(home + '/.node24/bin/node') && !olderThanNeeded(String(manifest.version));
	} catch (error) {
		return false;
	}
}

/** The one command that gets a new enough Node on this machine, or null on a platform where there is none to give. */
function nodeFix() {
	if (process.platform === 'win32') return null;
	var home = process.env.HOME || '';
	// Already installed by an earlier fix or by .ci/run: only PATH is missing.
	if (home && node24Installed(home)) return 'export PATH=~/.node24/bin:$PATH';
	if (process.env.NVM_DIR && fs.existsSync(process.env.NVM_DIR + '/nvm.sh')) return 'nvm install 24 && nvm use 24';
	// The `node` package on the npm registry is the official binary for this platform: npm (which came with this
	// Node) is all it needs, no root and no distro repository.
	return 'npm install -g --prefix ~/.node24 node@24 && export PATH=~/.node24/bin:$PATH';
}

if (nodeTooOld) {
	var fix = nodeFix();
	process.stderr.write(
		'modeldeck needs Node.js ' + needed.join('.') + ' or newer, but this is Node.js ' + found + ' (' + process.execPath + '). ' +
			(fix ? 'Fix: ' + fix : 'Fix: install Node.js 24 LTS from https://nodejs.org/') + '\n',
	);
	process.exitCode = 1;
}
