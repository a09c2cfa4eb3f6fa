// vitest globalSetup for the dynamodb test service: starts it on a random loopback port, provides its
// address to tests, stops it at the end. (Not written yet.)
export default async function setup(): Promise<void> {}
