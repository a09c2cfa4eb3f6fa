export * from './types.ts';
export * from './agent.ts';
export * from './master.ts';
export * from './sweep.ts';
export * from './ticket.ts';
export * from './framework.ts';
export * from './framework-sweep.ts';
