export * from './node-types.ts';
export * from './failure-reasons.ts';
export * from './event-id.ts';
export * from './schema.ts';
export * from './validate.ts';
export * from './wire.ts';
export * from './build.ts';
export * from './outcome-class.ts';
