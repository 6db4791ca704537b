export { help, run } from './smoke.ts';
