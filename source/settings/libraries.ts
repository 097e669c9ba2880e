/**
 * conf and ajv, which settings.ts loads only when there is a settings file to read. A module of their own because the
 * bundle (esbuild) gives a dynamic import() of a CommonJS package (ajv) only its default export.
 */
export {Ajv2020} from 'ajv/dist/2020.js';
export {default as Conf} from 'conf';
